using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// Repair after a restart, in a 5-node mesh (so each node holds 3 shards of a segment): no segment is reported lost
/// while the nodes that hold its shards are down or not yet known, and the first pass waits for the routing table.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class RepairWarmUpTests
{
    [Test]
    public async Task A_segment_is_unreachable_while_holders_are_down_and_lost_only_when_all_of_them_answered(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(5, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 31)), owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(mesh.Nodes[0], stored.Cid);

        for (int i = 2; i < 5; i++) await mesh.StopNodeAsync(i);
        var (lost, unreachable) = await PassesAsync(mesh.Nodes.Take(2), cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((0, 1)), "6 of 15 shards answer, but 3 of the 5 nodes are down");

        // Every node answers, but three of them have lost their shards: now the segment is lost.
        for (int i = 2; i < 5; i++)
        {
            var node = await mesh.RestartNodeAsync(i, cancellationToken);
            foreach (var hash in hashes) await node.Shards!.DeleteAsync(hash, cancellationToken);
        }
        (lost, unreachable) = await PassesAsync(mesh.Nodes, cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task After_a_restart_of_every_node_the_first_pass_waits_for_the_peers_and_finds_nothing_lost(CancellationToken cancellationToken)
    {
        var options = MeshTestData.FastOptions();
        options.Node.Repair.Interval = TimeSpan.FromSeconds(1);
        await using var mesh = await LocalMesh.StartAsync(5, options, cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 32)), owner, cancellationToken: cancellationToken);
        for (int i = 0; i < 5; i++) await mesh.StopNodeAsync(i);

        // Alone, with its peers down: its routing table is empty, so it runs no pass (one now would find 3 of the 15
        // shards and call the segment lost).
        var first = await mesh.RestartNodeAsync(0, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        Assert.That(first.Repair!.LastPass, Is.Null);

        for (int i = 1; i < 5; i++) await mesh.RestartNodeAsync(i, cancellationToken);
        while (first.Repair.LastPass is null) await Task.Delay(200, cancellationToken);
        var report = first.Repair.LastPass.Value.Report;
        Assert.That((report.SegmentsLost, report.SegmentsUnreachable), Is.EqualTo((0, 0)), report.ToString());
    }

    private static async Task<(int Lost, int Unreachable)> PassesAsync(IEnumerable<MeshNode> nodes, CancellationToken cancellationToken)
    {
        int lost = 0, unreachable = 0;
        foreach (var node in nodes)
        {
            var report = await node.RunRepairPassAsync(cancellationToken);
            lost += report.SegmentsLost;
            unreachable += report.SegmentsUnreachable;
        }
        return (lost, unreachable);
    }
}
