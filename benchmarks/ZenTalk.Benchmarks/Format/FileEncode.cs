using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// How fast does <see cref="FileEncoder"/> turn plaintext into shards + a signed manifest, next to the raw ceiling
/// of each stage over the same bytes in the same run: AES-256-GCM of every 1 MiB segment, Reed-Solomon 10+5 of the
/// sealed segments, SHA-256 of all 15 shards of every segment (what the pipeline hashes: 1.5× the input). Each
/// ceiling streams through buffers as large as the file, like the pipeline, so neither side is cache-hot.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 6)]
public class FileEncode
{
    private const int SegmentSize = FileCodecOptions.DefaultSegmentSize;
    private byte[] _input = null!;
    private byte[] _shardBuffer = null!;
    private Memory<byte>[][] _shards = null!;
    private int _segments;
    private ContentKey _key = null!;
    private OwnerKey _owner = null!;
    private SegmentCipher _cipher = null!;
    private ReedSolomon _codec = null!;
    private FileEncoder _oneInFlight = null!;
    private FileEncoder _twoInFlight = null!;
    private int _shardSize;

    /// <summary>Plaintext size in bytes: 1 MiB and 64 MiB.</summary>
    [Params(1 << 20, 64 << 20)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = RandomNumberGenerator.GetBytes(Size);
        _key = ContentKey.Generate();
        _owner = OwnerKey.Generate();
        _cipher = new SegmentCipher(_key, SegmentCipher.NewSalt());
        _codec = new ReedSolomon(10, 5);
        _shardSize = Manifest.ShardSizeFor(SegmentSize, 10);
        _segments = (Size + SegmentSize - 1) / SegmentSize;
        var perSegment = _shardSize * 15;
        _shardBuffer = new byte[perSegment * _segments];
        _shards = Enumerable.Range(0, _segments)
            .Select(s => Enumerable.Range(0, 15).Select(i => _shardBuffer.AsMemory((s * perSegment) + (i * _shardSize), _shardSize)).ToArray())
            .ToArray();
        RandomNumberGenerator.Fill(_shardBuffer);
        _oneInFlight = new FileEncoder(new FileCodecOptions { MaxSegmentsInFlight = 1 });
        _twoInFlight = new FileEncoder(new FileCodecOptions { MaxSegmentsInFlight = 2 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cipher.Dispose();
        _owner.Dispose();
    }

    /// <summary>The whole pipeline, one segment processed at a time (reading overlaps it).</summary>
    [Benchmark]
    public Task Pipeline_1_in_flight() => _oneInFlight.EncodeAsync(new MemoryStream(_input, writable: false), _key, _owner, new ArrayShards(keep: false));

    /// <summary>The whole pipeline with two segments processed at once (both cores).</summary>
    [Benchmark]
    public Task Pipeline_2_in_flight() => _twoInFlight.EncodeAsync(new MemoryStream(_input, writable: false), _key, _owner, new ArrayShards(keep: false));

    /// <summary>Ceiling: AES-256-GCM alone, segment by segment, into the shard buffer.</summary>
    [Benchmark]
    public void AesGcm_alone()
    {
        for (int offset = 0, i = 0; offset < _input.Length; offset += SegmentSize, i++)
        {
            var length = Math.Min(SegmentSize, _input.Length - offset);
            _cipher.Encrypt(i, offset + length == _input.Length, _input.AsSpan(offset, length), _shardBuffer.AsSpan(i * _shardSize * 15, length + SegmentCipher.TagSize));
        }
    }

    /// <summary>Ceiling: Reed-Solomon 10+5 encode alone, once per segment.</summary>
    [Benchmark]
    public void Erasure_alone()
    {
        foreach (var segment in _shards)
        {
            _codec.Encode(segment);
        }
    }

    /// <summary>Ceiling: SHA-256 of the 15 shards of every segment.</summary>
    [Benchmark]
    public void Sha256_alone()
    {
        Span<byte> digest = stackalloc byte[32];
        foreach (var segment in _shards)
        {
            foreach (var shard in segment)
            {
                SHA256.HashData(shard.Span, digest);
            }
        }
    }
}
