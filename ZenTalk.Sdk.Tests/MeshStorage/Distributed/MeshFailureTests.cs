using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Holders stopped, restarted, corrupt or lost; repair. Each test gets its own 20-node loopback mesh.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshFailureTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;

    [SetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(20, MeshTestData.FastOptions());
        _owner = OwnerKey.Generate(2048);
    }

    [TearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
    }

    /// <summary>A node that holds nothing of segment 0, to read from (so its own copy never helps).</summary>
    private MeshNode Reader(List<int> holders) => _mesh.Nodes[Enumerable.Range(0, 20).First(i => !holders.Contains(i))];

    [Test]
    public async Task Retrieve_succeeds_with_any_five_shard_holders_down(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(50_000, 1);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], stored.Cid);
        Assert.That(holders, Has.Count.EqualTo(15));
        var reader = Reader(holders);
        foreach (int i in holders.OrderBy(_ => Random.Shared.Next()).Take(5)) await _mesh.StopNodeAsync(i);

        var back = await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task Retrieve_with_six_holders_down_fails_naming_the_segment_and_shard_counts(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(50_000, 2)), _owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], stored.Cid);
        var reader = Reader(holders);
        foreach (int i in holders.Take(6)) await _mesh.StopNodeAsync(i);

        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var e = Assert.ThrowsAsync<ShardsUnavailableException>(async () =>
            await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(stored.Cid, stored.ContentKey, bounded.Token), bounded.Token));
        Assert.That(e!.Message, Does.Contain("Segment 0").And.Contain("9 valid shards of the 10 needed"));
        Assert.Multiple(() =>
        {
            Assert.That(e.Cid, Is.EqualTo(stored.Cid));
            Assert.That(e.SegmentIndex, Is.EqualTo(0));
            Assert.That(e.ShardsFound, Is.EqualTo(9));
            Assert.That(e.ShardsNeeded, Is.EqualTo(10));
            Assert.That(e.IsTransient, Is.True, "holders that are down may come back");
        });
        Assert.That(bounded.IsCancellationRequested, Is.False, "the failure must come from the mesh, not the test's deadline");
    }

    [Test]
    public async Task A_holder_serving_corrupted_bytes_is_detected_and_skipped(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(50_000, 3);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], stored.Cid);
        var reader = Reader(holders);
        foreach (int i in holders.Take(3)) _mesh.Nodes[i].ShardHandler!.CorruptServedShards = true;

        var back = await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        var status = await reader.Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Segments[0].ShardsFound, Is.EqualTo(15));
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(12));
        Assert.That(status.Segments[0].MissingShards, Has.Count.EqualTo(3));
        Assert.That(status.Health, Is.EqualTo(FileHealth.Degraded));
    }

    [Test]
    public async Task Nodes_restarted_from_their_directories_still_serve_their_shards_and_the_file(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(300_000, 4);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], stored.Cid);
        var ids = holders.Select(i => _mesh.Nodes[i].Id).ToList();
        // Restart ten holders (all but five), so the file needs restarted nodes to be readable.
        foreach (int i in holders.Take(10)) await _mesh.RestartNodeAsync(i, cancellationToken);
        foreach (int i in holders.Skip(10)) await _mesh.StopNodeAsync(i);

        Assert.That(holders.Take(10).Select(i => _mesh.Nodes[i].Id), Is.EqualTo(ids.Take(10)), "same identity after restart");
        await using var client = await _mesh.StartClientAsync(holders[0], cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task Repair_after_five_holders_die_restores_all_shards_and_the_file_survives_five_more(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(150_000, 5);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], stored.Cid);
        var firstVictims = holders.Take(5).ToList();
        foreach (int i in firstVictims) await _mesh.StopNodeAsync(i);

        var live = Enumerable.Range(0, 20).Except(firstVictims).ToList();
        int repaired = 0;
        foreach (int i in live) repaired += (await _mesh.Nodes[i].RunRepairPassAsync(cancellationToken)).ShardsRepaired;
        Assert.That(repaired, Is.GreaterThanOrEqualTo(5));

        var asker = _mesh.Nodes[live[0]];
        var status = await asker.Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Segments.Select(s => s.ShardsVerified), Is.All.EqualTo(15));
        Assert.That(status.Health, Is.EqualTo(FileHealth.Excellent));
        Assert.That(status.Segments.Select(s => s.Holders.Select(h => h.Node).Distinct().Count()), Is.All.EqualTo(15), "repaired shards go to nodes that hold none of the segment");

        var newHolders = await MeshTestData.HolderIndexesAsync(_mesh, asker, stored.Cid);
        var secondVictims = newHolders.Except(firstVictims).Take(5).ToList();
        foreach (int i in secondVictims) await _mesh.StopNodeAsync(i);
        var reader = _mesh.Nodes[Enumerable.Range(0, 20).Except(firstVictims).Except(secondVictims).First()];
        var back = await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }
}
