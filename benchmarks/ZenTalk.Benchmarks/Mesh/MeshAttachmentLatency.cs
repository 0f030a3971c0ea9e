using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// What does one 256 KiB attachment cost end to end on a 15-node loopback <see cref="LocalMesh"/>: p50 and p99 of
/// storing it (encrypt, code, 15 durable shard puts, owner signature, manifest at the closest nodes) and of fetching
/// it from another node (manifest lookup, segment lookup, 10 shard reads, decode). One operation per iteration.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Percentiles))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 10, iterationCount: 100, invocationCount: 1)]
public class MeshAttachmentLatency
{
    private const int Size = 256 * 1024;
    private byte[] _attachment = null!;
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private StoredFile _stored = null!;

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
        _owner = OwnerKey.Create();
        _mesh = await LocalMesh.StartAsync(15, new LocalMeshOptions { RepairInterval = Timeout.InfiniteTimeSpan });
        _stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(_attachment, writable: false), _owner);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
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
}
