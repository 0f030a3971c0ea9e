using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// What does one 256 KiB attachment cost end to end on a 15-node loopback <see cref="LocalMesh"/>: p50 and p99 of
/// storing it (encrypt, code, 15 durable shard puts, owner signature, manifest at the closest nodes) and of fetching
/// it from another node (manifest lookup, segment lookup, 10 shard reads, decode). One operation per iteration.
/// Two floors run in the same process for scale: the disk's part of a store alone (15 durable shard writes side by
/// side, one per holder directory, on the same disk the mesh uses), and the owner's RSA signature alone.
/// <see cref="Storage"/> "tmpfs" runs the same mesh with every node's directory in /dev/shm (Linux): fsync and the
/// disk cost nothing there, so the difference between the two rows is what durability on this disk costs.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Percentiles))]
// No forced full GC after each operation (BenchmarkDotNet's default): an app does not collect between two messages,
// and a collection per operation leaves every node's threads parked and caches cold for the next one. Collections
// that happen on their own are inside the measured times (p99).
[GcForce(false)]
// 100 warm-up operations: tiered JIT promotes hot methods after 30 calls plus a background delay, so after 10 the
// measured operations still ran partly unoptimized code — steady-state latency is the question here.
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 100, iterationCount: 100, invocationCount: 1)]
public class MeshAttachmentLatency
{
    private const int Size = 256 * 1024;
    private byte[] _attachment = null!;
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private StoredFile _stored = null!;
    private FloorStores _floor = null!;
    private byte[] _shard = null!;
    private byte[] _manifestBody = null!;
    private int _floorRound;

    /// <summary>Where the nodes keep their shards: the temp directory's disk, or memory (/dev/shm) to take the disk out.</summary>
    [Params("disk", "tmpfs")]
    public string Storage { get; set; } = "disk";

    private sealed class Percentiles : ManualConfig
    {
        public Percentiles()
        {
            AddColumn(new PercentileColumn(50), new PercentileColumn(99));
        }
    }

    [GlobalSetup]
    public async Task Setup()
    {
        _attachment = RandomNumberGenerator.GetBytes(Size);
        _owner = OwnerKey.Generate();
        string root = Storage == "tmpfs" ? "/dev/shm" : Path.GetTempPath();
        _mesh = await LocalMesh.StartAsync(15, new LocalMeshOptions
        {
            RootDirectory = Path.Combine(root, "zentalk-bench-mesh-" + Guid.NewGuid().ToString("N")),
            Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } },
        });
        _stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(_attachment, writable: false), _owner);
        _floor = await FloorStores.OpenAsync(root);
        _shard = RandomNumberGenerator.GetBytes(ZenTalk.MeshStorage.Format.Manifest.ShardSizeFor(Size, 10));
        _manifestBody = RandomNumberGenerator.GetBytes(1400);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        string meshRoot = _mesh.RootDirectory;
        await _mesh.DisposeAsync();
        _owner.Dispose();
        Directory.Delete(meshRoot, recursive: true); // A root given to LocalMesh is the caller's to delete.
        _floor.Dispose();
    }

    /// <summary>Store one 256 KiB attachment through node 0.</summary>
    [Benchmark]
    public Task<StoredFile> Store_256KiB() => _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(_attachment, writable: false), _owner);

    /// <summary>Fetch the attachment through node 9 and read it to the end.</summary>
    [Benchmark]
    public async Task Fetch_256KiB()
    {
        var stream = await _mesh.Nodes[9].Store.RetrieveAsync(_stored.Cid, _stored.ContentKey);
        await using (stream) await stream.CopyToAsync(Stream.Null);
    }

    /// <summary>Floor: the 15 holders' durable puts of one store (hash check, append, fdatasync), side by side, no network.</summary>
    [Benchmark]
    public Task Floor_15_durable_shard_writes()
    {
        long round = _floorRound++;
        return Task.WhenAll(Enumerable.Range(0, _floor.Holders.Length).Select(j => _floor.PutAsync(j, _shard, round, CancellationToken.None)));
    }

    /// <summary>Floor: the owner's RSA-3072 PSS signature over a manifest-sized body.</summary>
    [Benchmark]
    public byte[] Floor_owner_signature() => _owner.Sign(_manifestBody);
}
