using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Store and retrieve on one shared 15-node loopback mesh; these tests do not stop nodes.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshRoundTripTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(15, MeshTestData.FastOptions());
        _owner = OwnerKey.Generate(2048);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(256 * 1024)]
    [TestCase(20_000_000)]
    public async Task Store_and_retrieve_round_trip_byte_for_byte(int size, CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(size, size);
        var store = _mesh.Nodes[size % 15].Store;
        var stored = await store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        Assert.That(stored.Size, Is.EqualTo(size));
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[(size + 7) % 15].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task Concurrent_stores_and_retrieves_of_many_files_all_come_back_byte_for_byte(CancellationToken cancellationToken)
    {
        // Holders read shards into pooled arrays that go back to the pool when the answer is written, and their
        // readers take PUT_SHARD shards without a copy: with many transfers in flight on the same connections, a
        // buffer reused too early would show up here as wrong bytes (the reader checks every shard's hash).
        // Erasure coding would hide a few bad shards, so the readers' rejections are counted too.
        using var rejected = new CounterSum("zentalk.mesh.shards_rejected");
        var files = Enumerable.Range(0, 12).Select(i => MeshTestData.Bytes(50_000 + (i * 97_003), 1_000 + i)).ToArray();
        var stored = await Task.WhenAll(files.Select((data, i) => _mesh.Nodes[i % 15].Store.StoreAsync(new MemoryStream(data), _owner)));
        var reads = Enumerable.Range(0, 36).Select(async r =>
        {
            int f = r % files.Length;
            var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[(r * 5) % 15].Store.RetrieveAsync(stored[f].Cid, stored[f].ContentKey));
            return (f, back);
        });
        foreach (var (f, back) in await Task.WhenAll(reads))
        {
            Assert.That(back, Is.EqualTo(files[f]), $"file {f}");
        }

        Assert.That(rejected.Total, Is.Zero, "no holder sent a shard that failed its hash");
    }

    [TestCase(50_000, 1, true)]
    [TestCase(50_000, 1, false)]
    [TestCase(100_000, 2, true)]
    public async Task A_one_segment_file_sends_its_manifest_with_the_shard_puts_and_every_holder_keeps_it(int size, int segments, bool seekable, CancellationToken cancellationToken)
    {
        // In a 15-node mesh the nodes closest to the CID are the shard holders: a one-segment file's puts carry the
        // manifest, and no STORE_VALUE round follows them. A file of several segments still sends it separately.
        var data = MeshTestData.Bytes(size, 77 + size + (seekable ? 0 : 1));
        using var served = new RpcKindCounts();
        Stream content = seekable ? new MemoryStream(data) : new ZenTalk.Sdk.Tests.Hardening.Drivers.ChunkedStream(data, new Random(size), 4096);
        var stored = await _mesh.Nodes[4].Store.StoreAsync(content, _owner, cancellationToken: cancellationToken);

        // Node 4 keeps one shard of each segment itself; the other 14 go over the wire.
        Assert.That(served["PutShard"], Is.EqualTo(14 * segments));
        if (segments == 1) Assert.That(served["StoreValue"], Is.Zero, "no separate manifest round");
        else Assert.That(served["StoreValue"], Is.EqualTo(14), "the manifest goes in its own round");
        foreach (var node in _mesh.Nodes)
            Assert.That(node.Files!.Files.Any(f => f.Key == stored.Cid && f.Value.ManifestRecord is not null), Is.True, $"{node.Id} keeps the manifest");
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[11].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task A_fresh_client_that_knows_one_peer_retrieves_with_only_the_cid_and_key(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(300_000, 42);
        var stored = await _mesh.Nodes[3].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        await using var client = await _mesh.StartClientAsync(bootstrapIndex: 9, cancellationToken: cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task Each_segment_is_placed_on_fifteen_distinct_nodes(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(200_000, 7)), _owner, cancellationToken: cancellationToken);
        var status = await _mesh.Nodes[2].Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Health, Is.EqualTo(FileHealth.Excellent));
        foreach (var segment in status.Segments)
        {
            Assert.That(segment.ShardsVerified, Is.EqualTo(15));
            Assert.That(segment.Holders.Select(h => h.Node).Distinct().Count(), Is.EqualTo(15));
        }
    }

    [Test]
    public async Task Progress_reports_every_segment_and_ends_at_the_file_size(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(300_000, 8);
        var progress = new MeshTestData.ProgressLog();
        await _mesh.Nodes[4].Store.StoreAsync(new MemoryStream(data), _owner, progress: progress, cancellationToken: cancellationToken);
        var reports = progress.Reports;
        Assert.That(reports, Has.Count.EqualTo(5), "300,000 bytes in 64 KiB segments");
        Assert.That(reports[^1].SegmentsCompleted, Is.EqualTo(5));
        Assert.That(reports[^1].BytesTransferred, Is.EqualTo(data.Length), "the last report is the total");
        Assert.That(reports.Select(r => r.BytesTransferred), Is.Ordered.Ascending.And.Unique, "progress never goes backwards");
        Assert.That(reports.Select(r => r.SegmentsCompleted), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
        Assert.That(reports.All(r => r.TotalBytes == data.Length), Is.True);
    }

    [Test]
    public async Task Network_info_describes_the_node_its_peers_and_what_it_stores(CancellationToken cancellationToken)
    {
        await _mesh.Nodes[5].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(10_000, 9)), _owner, cancellationToken: cancellationToken);
        var node = _mesh.Nodes[5];
        var info = await node.Store.GetNetworkAsync(cancellationToken);
        Assert.That(info.NodeId, Is.EqualTo(node.Id));
        Assert.That(info.Addresses, Does.Contain(node.Endpoint));
        Assert.That(info.RoutingTableSize, Is.EqualTo(14));
        Assert.That(info.Peers.Select(p => p.Id), Is.EquivalentTo(_mesh.Nodes.Where(n => n != node).Select(n => n.Id)));
        Assert.That(info.StoredShards, Is.GreaterThan(0));
        Assert.That(info.StoredBytes, Is.GreaterThan(0));
    }

    [Test]
    public async Task A_client_stores_for_itself_but_never_holds_shards_or_enters_routing_tables(CancellationToken cancellationToken)
    {
        await using var client = await _mesh.StartClientAsync(bootstrapIndex: 2, cancellationToken: cancellationToken);
        var data = MeshTestData.Bytes(100_000, 10);
        var stored = await client.Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[11].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(client.StoresForOthers, Is.False);
        Assert.That((await client.Store.GetNetworkAsync(cancellationToken)).StoredShards, Is.Zero);
        foreach (var node in _mesh.Nodes)
            Assert.That((await node.Store.GetNetworkAsync(cancellationToken)).Peers.Select(p => p.Id), Does.Not.Contain(client.Id));
    }

    [Test]
    public async Task A_wrong_key_fails_authentication_and_releases_nothing(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[6].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(100_000, 11)), _owner, cancellationToken: cancellationToken);
        var stream = await _mesh.Nodes[7].Store.RetrieveAsync(stored.Cid, ContentKey.Generate(), cancellationToken);
        await using (stream)
        {
            var buffer = new byte[4096];
            Assert.ThrowsAsync<IntegrityException>(async () => await stream.ReadExactlyAsync(buffer));
        }
    }

    [Test]
    public void Bad_arguments_are_refused_with_their_parameter_named()
    {
        var store = _mesh.Nodes[0].Store;
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(async () => await store.StoreAsync(null!, _owner))!.ParamName, Is.EqualTo("content"));
        Assert.That(Assert.ThrowsAsync<ArgumentNullException>(async () => await store.StoreAsync(new MemoryStream(), null!))!.ParamName, Is.EqualTo("owner"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.StoreAsync(new MemoryStream([1]), _owner,
            new StoreOptions { MinimumShardsPerSegment = 16 }))!.ParamName, Is.EqualTo("options"));
        Assert.That(Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.StoreAsync(new MemoryStream([1]), _owner,
            new StoreOptions { ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) }))!.ParamName, Is.EqualTo("options"));
        Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await store.RetrieveAsync(Cid.FromDigest(new Sha256Hash(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))), ContentKey.Generate()));
        Assert.ThrowsAsync<ArgumentException>(async () => await MeshNode.StartAsync(new MeshNodeOptions()));
    }
}
