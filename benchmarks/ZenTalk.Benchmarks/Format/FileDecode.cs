using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// How fast does <see cref="FileDecoder"/> turn shards back into plaintext (all shards present, and with the first
/// five data shards of every segment missing so every segment is rebuilt), next to the raw ceilings over the same
/// bytes in the same run: SHA-256 of the k shards it verifies, Reed-Solomon ReconstructData of five data shards,
/// AES-256-GCM decryption. The ceilings work on the file's real shards and sealed segments, so they stream through
/// as much memory as the pipeline does.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class FileDecode
{
    private const int SegmentSize = FileCodecOptions.DefaultSegmentSize;
    private ArrayShards _shards = null!;
    private ArrayShards _degraded = null!;
    private Manifest _manifest = null!;
    private ContentKey _key = null!;
    private SegmentCipher _cipher = null!;
    private ReedSolomon _codec = null!;
    private byte[][] _sealed = null!;
    private byte[] _plain = null!;
    private Memory<byte>[][] _rsShards = null!;
    private bool[] _present = null!;
    private FileCodecOptions _one = null!;
    private FileCodecOptions _two = null!;

    /// <summary>Plaintext size in bytes: 1 MiB and 64 MiB.</summary>
    [Params(1 << 20, 64 << 20)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = ContentKey.Generate();
        using var owner = OwnerKey.Generate();
        _shards = new ArrayShards(keep: true);
        _manifest = new FileEncoder().EncodeAsync(new MemoryStream(RandomNumberGenerator.GetBytes(Size)), _key, owner, _shards).GetAwaiter().GetResult();
        _degraded = _shards;
        _cipher = new SegmentCipher(_key, _manifest.Salt.Span);
        _codec = new ReedSolomon(10, 5);
        _plain = new byte[SegmentSize];
        // The real sealed segments (data shards joined), and per segment the real shards with 5 data shards blank.
        _sealed = new byte[_manifest.SegmentCount][];
        _rsShards = new Memory<byte>[_manifest.SegmentCount][];
        for (var s = 0; s < _manifest.SegmentCount; s++)
        {
            var length = (int)_manifest.SegmentPlaintextLength(s) + SegmentCipher.TagSize;
            _sealed[s] = _shards.Segment(s).Take(10).SelectMany(x => x).Take(length).ToArray();
            _rsShards[s] = _shards.Segment(s).Select((x, i) => (Memory<byte>)(i < 5 ? new byte[x.Length] : x)).ToArray();
        }

        _present = Enumerable.Range(0, 15).Select(i => i >= 5).ToArray();
        _one = new FileCodecOptions { MaxSegmentsInFlight = 1 };
        _two = new FileCodecOptions { MaxSegmentsInFlight = 2 };
    }

    [GlobalCleanup]
    public void Cleanup() => _cipher.Dispose();

    private Task Decode(FileCodecOptions options, bool degraded)
    {
        _shards.Missing.Clear();
        if (degraded)
        {
            _shards.Missing.UnionWith([0, 1, 2, 3, 4]);
        }

        return new FileDecoder(_manifest, _key, _shards, options).DecodeToAsync(Stream.Null);
    }

    /// <summary>The whole pipeline, all data shards present, one segment at a time.</summary>
    [Benchmark]
    public Task Pipeline_1_in_flight() => Decode(_one, degraded: false);

    /// <summary>The whole pipeline, all data shards present, two segments at once.</summary>
    [Benchmark]
    public Task Pipeline_2_in_flight() => Decode(_two, degraded: false);

    /// <summary>Five data shards missing in every segment: each one is rebuilt; two segments at once.</summary>
    [Benchmark]
    public Task Pipeline_2_in_flight_5_missing() => Decode(_two, degraded: true);

    /// <summary>Ceiling: AES-256-GCM decryption alone of every segment.</summary>
    [Benchmark]
    public void AesGcm_alone()
    {
        for (var s = 0; s < _sealed.Length; s++)
        {
            _cipher.Decrypt(s, s == _sealed.Length - 1, _sealed[s], _plain.AsSpan(0, _sealed[s].Length - SegmentCipher.TagSize));
        }
    }

    /// <summary>Ceiling: Reed-Solomon rebuild of five data shards alone, every segment.</summary>
    [Benchmark]
    public void Erasure_alone_5_missing()
    {
        foreach (var segment in _rsShards)
        {
            _codec.ReconstructData(segment, _present);
        }
    }

    /// <summary>Ceiling: SHA-256 of the 10 shards the decoder verifies per segment.</summary>
    [Benchmark]
    public void Sha256_alone()
    {
        Span<byte> digest = stackalloc byte[32];
        for (var s = 0; s < _rsShards.Length; s++)
        {
            for (var j = 0; j < 10; j++)
            {
                SHA256.HashData(_shards.Segment(s)[j], digest);
            }
        }
    }
}
