using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>How fast is 10+5 encoding on one thread, against ISA-L's ec_encode_data in the same run?</summary>
[Config(typeof(ErasureConfig))]
public unsafe class ErasureEncode
{
    private const int DataShards = 10, ParityShards = 5;
    private ReedSolomon _codec = null!;
    private ErasureShards _shards = null!;
    private byte[] _isalTables = [];

    /// <summary>Bytes per shard.</summary>
    [Params(4096, 65536, 1048576)]
    public int ShardSize { get; set; }

    /// <summary>Builds the codec, the shards, and ISA-L's tables for its own Vandermonde-style matrix.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _codec = new ReedSolomon(DataShards, ParityShards); // one thread: MaxDegreeOfParallelism defaults to 1
        _shards = new ErasureShards(DataShards + ParityShards, ShardSize);
        if (IsaLPeer.IsAvailable)
        {
            _isalTables = IsaLPeer.EncodeTables(DataShards, ParityShards);
        }
    }

    /// <summary>Frees the shards.</summary>
    [GlobalCleanup]
    public void Cleanup() => _shards.Dispose();

    /// <summary>ZenTalk: <c>ReedSolomon.Encode</c> (kernel chosen at start-up, or ZENTALK_RS_KERNEL).</summary>
    [Benchmark(Baseline = true)]
    public void ZenTalk() => _codec.Encode(_shards.Memory);

    /// <summary>Intel ISA-L 2.30 (Debian): ec_encode_data with tables from ec_init_tables.</summary>
    [Benchmark]
    public void IsaL()
    {
        fixed (byte* t = _isalTables)
        {
            IsaLPeer.EncodeData(ShardSize, DataShards, ParityShards, t, _shards.Pointers, _shards.Pointers + DataShards);
        }
    }
}
