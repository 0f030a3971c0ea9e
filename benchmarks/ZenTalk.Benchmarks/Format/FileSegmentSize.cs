using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// Which segment size should the pipeline default to? Encode + decode of the same 32 MiB with 2 segments in
/// flight, for 256 KiB to 4 MiB segments.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 12)]
public class FileSegmentSize
{
    private const int Size = 32 << 20;
    private byte[] _input = null!;
    private ContentKey _key = null!;
    private OwnerKey _owner = null!;
    private ArrayShards _shards = null!;

    /// <summary>Plaintext bytes per segment.</summary>
    [Params(256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20)]
    public int SegmentSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = RandomNumberGenerator.GetBytes(Size);
        _key = ContentKey.Generate();
        _owner = OwnerKey.Generate();
        _shards = new ArrayShards(keep: true);
    }

    [GlobalCleanup]
    public void Cleanup() => _owner.Dispose();

    /// <summary>Encode to shards in memory, then decode them back.</summary>
    [Benchmark]
    public async Task EncodeDecode()
    {
        var options = new FileCodecOptions { SegmentSize = SegmentSize, MaxSegmentsInFlight = 2 };
        var manifest = await new FileEncoder(options).EncodeAsync(new MemoryStream(_input, writable: false), _key, _owner, _shards);
        await new FileDecoder(manifest, _key, _shards, options).DecodeToAsync(Stream.Null);
    }
}
