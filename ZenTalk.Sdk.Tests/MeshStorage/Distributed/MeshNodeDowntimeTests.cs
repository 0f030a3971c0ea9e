using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>A holder that misses a delete while stopped drops its shards when it is back (own 16-node mesh).</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshNodeDowntimeTests
{
    [Test]
    public async Task A_holder_that_was_down_during_delete_drops_its_shards_after_rejoining()
    {
        await using var mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions());
        using var owner = OwnerKey.Create(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(100_000, 21)), owner);
        var hashes = await MeshTestData.ShardHashesAsync(mesh.Nodes[0], stored.Cid);
        int absent = Enumerable.Range(1, 15).First(i => MeshTestData.CountHeld(mesh.Nodes[i], hashes) > 0);
        int heldBefore = MeshTestData.CountHeld(mesh.Nodes[absent], hashes);
        await mesh.StopNodeAsync(absent);

        await mesh.Nodes[0].Store.DeleteAsync(stored.Cid, owner);
        Assert.That(Enumerable.Range(0, 16).Where(i => i != absent).Sum(i => MeshTestData.CountHeld(mesh.Nodes[i], hashes)), Is.Zero);

        var back = await mesh.RestartNodeAsync(absent);
        Assert.That(MeshTestData.CountHeld(back, hashes), Is.EqualTo(heldBefore), "the restarted node still has its shards");
        await back.RunRepairPassAsync();
        Assert.That(MeshTestData.CountHeld(back, hashes), Is.Zero);
    }

    [Test]
    public async Task The_background_repair_loop_rebuilds_shards_without_being_asked()
    {
        var options = MeshTestData.FastOptions();
        options.RepairInterval = TimeSpan.FromSeconds(1);
        await using var mesh = await LocalMesh.StartAsync(16, options);
        using var owner = OwnerKey.Create(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 22)), owner);
        var holders = await MeshTestData.HolderIndexesAsync(mesh, mesh.Nodes[0], stored.Cid);
        int victim = holders.First(i => i != 0);
        await mesh.StopNodeAsync(victim);
        var asker = mesh.Nodes[holders.First(i => i != victim)];

        SegmentStatus segment;
        do
        {
            await Task.Delay(500);
            segment = (await asker.Store.GetStatusAsync(stored.Cid)).Segments[0];
        }
        while (segment.ShardsVerified < 15);
        Assert.That(segment.Holders.Select(h => h.Node), Does.Not.Contain(mesh.Nodes[victim].Id));
    }
}
