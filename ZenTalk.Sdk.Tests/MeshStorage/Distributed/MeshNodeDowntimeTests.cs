using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>A holder that misses a delete while stopped drops its shards when it is back (own 16-node mesh).</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshNodeDowntimeTests
{
    [Test]
    public async Task A_holder_that_was_down_during_delete_drops_its_shards_after_rejoining(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(100_000, 21)), owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(mesh.Nodes[0], stored.Cid);
        int absent = Enumerable.Range(1, 15).First(i => MeshTestData.CountHeld(mesh.Nodes[i], hashes) > 0);
        int heldBefore = MeshTestData.CountHeld(mesh.Nodes[absent], hashes);
        await mesh.StopNodeAsync(absent);

        await mesh.Nodes[0].Store.DeleteAsync(stored.Cid, owner, cancellationToken);
        Assert.That(Enumerable.Range(0, 16).Where(i => i != absent).Sum(i => MeshTestData.CountHeld(mesh.Nodes[i], hashes)), Is.Zero);

        var back = await mesh.RestartNodeAsync(absent, cancellationToken);
        Assert.That(MeshTestData.CountHeld(back, hashes), Is.EqualTo(heldBefore), "the restarted node still has its shards");
        await back.RunRepairPassAsync(cancellationToken);
        Assert.That(MeshTestData.CountHeld(back, hashes), Is.Zero);
    }

    [Test]
    public async Task The_background_repair_loop_rebuilds_shards_without_being_asked(CancellationToken cancellationToken)
    {
        var options = MeshTestData.FastOptions();
        options.Node.Repair.Interval = TimeSpan.FromSeconds(1);
        await using var mesh = await LocalMesh.StartAsync(16, options, cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 22)), owner, cancellationToken: cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(mesh, mesh.Nodes[0], stored.Cid);
        int victim = holders.First(i => i != 0);
        await mesh.StopNodeAsync(victim);
        var asker = mesh.Nodes[holders.First(i => i != victim)];

        // The loop runs every second; a pass that finds the lost shard rebuilds it on another node.
        var segment = await Eventually.ValueAsync(
            async () => (await asker.Store.GetStatusAsync(stored.Cid, cancellationToken)).Segments[0],
            s => s.ShardsVerified >= 15, TimeSpan.FromSeconds(60),
            "the background repair loop rebuilds the stopped holder's shard (15 verified holders)", cancellationToken, TimeSpan.FromMilliseconds(500));
        Assert.That(segment.Holders.Select(h => h.Node), Does.Not.Contain(mesh.Nodes[victim].Id));
    }
}
