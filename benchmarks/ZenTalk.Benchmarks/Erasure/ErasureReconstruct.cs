using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>
/// How fast are 5 lost data shards of 10+5 rebuilt on one thread, against ISA-L in the same run? Throughput is
/// counted in data bytes (10 × shard size), as isal_bench.c does.
/// </summary>
[Config(typeof(ErasureConfig))]
public unsafe class ErasureReconstruct
{
    private const int DataShards = 10, ParityShards = 5, Lost = 5;
    private readonly bool[] _present = [.. Enumerable.Range(0, DataShards + ParityShards).Select(i => i >= Lost)];
    private ReedSolomon _codec = null!;
    private ErasureShards _shards = null!;
    private byte[] _isalTables = [];
    private byte*[] _isalSources = [];

    /// <summary>Bytes per shard.</summary>
    [Params(4096, 65536, 1048576)]
    public int ShardSize { get; set; }

    /// <summary>Encodes the shards and prepares ISA-L's decode tables as isal_bench.c does (invert once, outside the loop).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _codec = new ReedSolomon(DataShards, ParityShards);
        _shards = new ErasureShards(DataShards + ParityShards, ShardSize);
        _codec.Encode(_shards.Memory);
        _codec.Reconstruct(_shards.Memory, _present); // the decode plan is cached per erasure pattern, as in steady state

        if (IsaLPeer.IsAvailable)
        {
            _isalTables = IsaLPeer.DecodeTables(DataShards, ParityShards, Lost);
            _isalSources = new byte*[DataShards];
            for (int i = 0; i < DataShards; i++)
            {
                _isalSources[i] = _shards.Pointers[i + Lost];
            }
        }
    }

    /// <summary>Frees the shards.</summary>
    [GlobalCleanup]
    public void Cleanup() => _shards.Dispose();

    /// <summary>ZenTalk: <c>ReedSolomon.Reconstruct</c> with data shards 0-4 missing.</summary>
    [Benchmark(Baseline = true)]
    public void ZenTalk() => _codec.Reconstruct(_shards.Memory, _present);

    /// <summary>Intel ISA-L 2.30 (Debian): ec_encode_data with the inverted matrix, writing the 5 lost data shards.</summary>
    [Benchmark]
    public void IsaL()
    {
        fixed (byte* t = _isalTables)
        fixed (byte** sources = _isalSources)
        {
            IsaLPeer.EncodeData(ShardSize, DataShards, Lost, t, sources, _shards.Pointers);
        }
    }
}
