using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using ZenTalk.Benchmarks.Format;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// How fast does a 64 MiB file go into and come out of a 15-node loopback <see cref="LocalMesh"/> (one process,
/// TLS between nodes, 1 MiB segments, 10 + 5), next to the in-process pipeline with no network in the same run:
/// encode (AES-GCM + Reed-Solomon + SHA-256 into memory) and decode (from shards in memory). A floor for store runs
/// in the same process too: the disk work alone of a 64 MiB store — its 960 shard files written durably (temp file,
/// fsync, rename, directory fsync), eight segments at a time like the store, into the holders' 15 directories.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class MeshThroughput
{
    private const int Size = 64 << 20;
    private byte[] _input = null!;
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private StoredFile _stored = null!;
    private ContentKey _key = null!;
    private Manifest _manifest = null!;
    private ArrayShards _shards = null!;
    private FloorStores _floor = null!;
    private int _floorRound;

    [GlobalSetup]
    public async Task Setup()
    {
        _input = RandomNumberGenerator.GetBytes(Size);
        _owner = OwnerKey.Generate();
        _mesh = await LocalMesh.StartAsync(15, new LocalMeshOptions { Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } } });
        _stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(_input, writable: false), _owner);
        _key = ContentKey.Generate();
        _shards = new ArrayShards(keep: true);
        _manifest = await new FileEncoder().EncodeAsync(new MemoryStream(_input, writable: false), _key, _owner, _shards);
        _floor = await FloorStores.OpenAsync(Path.GetTempPath());
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
        _floor.Dispose();
    }

    /// <summary>
    /// Floor for store: only the holders' work on disk for a 64 MiB store — its 960 shards put into 15 real shard
    /// stores (hash check, append, fdatasync), 8 segments at a time, no network.
    /// </summary>
    [Benchmark]
    public Task Floor_durable_shard_writes()
    {
        long round = (long)_floorRound++ << 32;
        return Parallel.ForAsync(0, _manifest.SegmentCount, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (s, ct) =>
        {
            int size = _manifest.ShardSize(s);
            await Task.WhenAll(Enumerable.Range(0, _manifest.TotalShards).Select(j =>
                _floor.PutAsync(j, _shards.Segment(s)[j].AsMemory(0, size), round | (uint)s, ct)));
        });
    }

    /// <summary>Store 64 MiB through node 0 (encode, look up, place 15 shards per segment, publish the manifest).</summary>
    [Benchmark]
    public Task<StoredFile> Mesh_store() => _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(_input, writable: false), _owner);

    /// <summary>Retrieve 64 MiB through node 7 (find the manifest, fetch 10 shards per segment, decode, decrypt).</summary>
    [Benchmark]
    public async Task Mesh_retrieve()
    {
        var stream = await _mesh.Nodes[7].Store.RetrieveAsync(_stored.Cid, _stored.ContentKey);
        await using (stream) await stream.CopyToAsync(Stream.Null);
    }

    /// <summary>Ceiling for store: the file pipeline alone, shards kept in memory, no network.</summary>
    [Benchmark(Baseline = true)]
    public Task Pipeline_encode() => new FileEncoder().EncodeAsync(new MemoryStream(_input, writable: false), _key, _owner, new ArrayShards(keep: false));

    /// <summary>Ceiling for retrieve: decode from the shards in memory, no network.</summary>
    [Benchmark]
    public Task Pipeline_decode() => new FileDecoder(_manifest, _key, _shards).DecodeToAsync(Stream.Null);
}
