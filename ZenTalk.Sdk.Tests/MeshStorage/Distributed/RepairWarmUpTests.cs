using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// Repair after a restart, in a 5-node mesh (so each node holds 3 shards of a segment): no segment is reported lost
/// while the nodes that hold its shards are down or not yet known, and the first pass waits for the routing table.
/// And in a mesh with more nodes than a segment has shards (found by the testnet: a node that had just joined and
/// could reach few peers called a segment "lost" whose shards 14 live nodes held): a segment is not lost while holders
/// do not answer, however many other nodes do.
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

    [Test]
    public async Task A_segment_is_unreachable_not_lost_while_its_holders_are_down_though_more_nodes_answer_than_it_has_shards(CancellationToken cancellationToken)
    {
        // 3 + 2 shards on 8 nodes: one shard per holder, and three nodes that hold none.
        await using var mesh = await LocalMesh.StartAsync(8, SmallCoding(), cancellationToken: cancellationToken);
        var (cid, hashes, holders) = await StoreAsync(mesh, 33, cancellationToken);

        // Three holders down: two shards of the three needed answer, and 5 nodes answer (as many as the segment has
        // shards), but the three that do not may hold the rest.
        var down = holders.Where(i => i != Responsible(mesh, cid, holders)).Take(3).ToList();
        foreach (int i in down) await mesh.StopNodeAsync(i);
        var live = Enumerable.Range(0, 8).Except(down).Select(i => mesh.Nodes[i]).ToList();
        var (lost, unreachable) = await PassesAsync(live, cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((0, 1)), "unreachable while three holders are down");

        foreach (int i in down) await mesh.RestartNodeAsync(i, cancellationToken);
        (lost, unreachable) = await PassesAsync(mesh.Nodes, cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((0, 0)), "back: nothing lost");
    }

    [Test]
    public async Task A_segment_is_unreachable_not_lost_while_a_holder_claims_a_shard_but_does_not_send_it(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(8, SmallCoding(), cancellationToken: cancellationToken);
        var (cid, hashes, holders) = await StoreAsync(mesh, 34, cancellationToken);

        // Two holders lost their shards (they answer "not here"); a third answers HAS_SHARDS but never sends its shard
        // (its fetches time out, as calls to a node did that the repairing node could barely reach). Every node answers
        // the lookup. Two shards come, three are needed: the third may still be there.
        int responsible = Responsible(mesh, cid, holders);
        var others = holders.Where(i => i != responsible).ToList();
        foreach (int i in others.Take(2))
            foreach (var hash in hashes) await mesh.Nodes[i].Shards!.DeleteAsync(hash, cancellationToken);
        var mute = mesh.Nodes[others[2]];
        mute.Network.Router.Shards = new NoShardAnswers(mute.ShardHandler!);
        var (lost, unreachable) = await PassesAsync(mesh.Nodes, cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((0, 1)), "unreachable while a holder does not send what it claims");

        // It answers again: the segment is rebuilt from its three shards.
        mute.Network.Router.Shards = mute.ShardHandler;
        (lost, unreachable) = await PassesAsync(mesh.Nodes, cancellationToken);
        Assert.That((lost, unreachable), Is.EqualTo((0, 0)));
        Assert.That(mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.GreaterThanOrEqualTo(5), "the two lost shards were rebuilt");
    }

    /// <summary>Fast options with 3 data and 2 parity shards, so that a mesh of a few nodes has more nodes than shards.</summary>
    private static LocalMeshOptions SmallCoding()
    {
        var options = MeshTestData.FastOptions();
        options.Node.Coding.DataShards = 3;
        options.Node.Coding.ParityShards = 2;
        return options;
    }

    /// <summary>Stores a one-segment file through node 0; returns its CID, its shard hashes and the nodes holding them (one shard each).</summary>
    private static async Task<(Cid Cid, List<ZenTalk.MeshStorage.Crypto.Sha256Hash> Hashes, List<int> Holders)> StoreAsync(LocalMesh mesh, int seed, CancellationToken cancellationToken)
    {
        using var owner = OwnerKey.Generate(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, seed)), owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(mesh.Nodes[0], stored.Cid);
        var holders = Enumerable.Range(0, mesh.Nodes.Count).Where(i => MeshTestData.CountHeld(mesh.Nodes[i], hashes) > 0).ToList();
        Assert.That(holders, Has.Count.EqualTo(5), "one shard per holder");
        return (stored.Cid, hashes, holders);
    }

    /// <summary>The holder closest to the file's record key: the node that repairs it while every node is up. A node's
    /// own shards are read locally, so the test's faults go to other holders.</summary>
    private static int Responsible(LocalMesh mesh, Cid cid, List<int> holders)
    {
        var key = FileRecords.KeyOf(cid);
        int closest = Enumerable.Range(0, mesh.Nodes.Count).MinBy(i => key.DistanceTo(mesh.Nodes[i].Id));
        return holders.Contains(closest) ? closest : -1;
    }

    /// <summary>A holder's shard service that answers everything but GET_SHARD, which it leaves unanswered.</summary>
    private sealed class NoShardAnswers(IShardRequestHandler inner) : IShardRequestHandler
    {
        public ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            inner.PutShardAsync(request, caller, cancellationToken);

        public async ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }

        public ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            inner.HasShardsAsync(request, caller, cancellationToken);

        public ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            inner.DeleteShardsAsync(request, caller, cancellationToken);
    }

    /// <summary>
    /// The testnet's partition: a file stored on one side sits on that side's closest nodes, and after healing six of
    /// them ranked beyond the 20 closest, so repair found 9 of the 10 shards it needs among the closest and called the
    /// segment lost for minutes (until a kill elsewhere happened to move a holder into the 20). Repair now also asks the
    /// next 20 nodes its table names for the missing shards, rebuilds, and puts the missing ones on the closest nodes.
    /// Here: 26 nodes; the shards of the 6 closest holders move to the 6 nodes farthest from the segment key.
    /// </summary>
    [Test]
    public async Task Shards_beyond_the_closest_nodes_are_used_to_rebuild_and_moved_among_them(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(26, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var client = await mesh.StartClientAsync(cancellationToken: cancellationToken);
        var data = MeshTestData.Bytes(40_000, 33);
        var stored = await client.Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var manifest = await client.MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(1));
        var key = Placement.SegmentKey(manifest, 0);
        var byDistance = Enumerable.Range(0, 26).OrderBy(i => key.DistanceTo(mesh.Nodes[i].Id)).ToList();
        var hashes = Placement.SegmentHashes(manifest, 0);
        var record = FileRecords.ForManifest(manifest);

        // The shards of the 6 closest holders go to the 6 farthest nodes (ranks 21-26), as a put from the client would.
        var holders = byDistance.Where(i => hashes.Any(mesh.Nodes[i].Shards!.Contains)).Take(6).ToList();
        var farthest = byDistance.Skip(20).ToList();
        Assert.That(holders, Has.Count.EqualTo(6));
        for (int h = 0; h < 6; h++)
        {
            var from = mesh.Nodes[holders[h]].Shards!;
            foreach (var hash in hashes.Where(from.Contains).ToList())
            {
                var bytes = await from.GetAsync(hash, cancellationToken);
                Assert.That(await client.MeshStore.Client.PutAsync(mesh.Nodes[farthest[h]].Network.Contact, hash, bytes, new PutAuthority(Record: record), cancellationToken), Is.True);
                await from.DeleteAsync(hash, cancellationToken);
            }
        }

        var before = await client.Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(before.Segments[0].ShardsVerified, Is.EqualTo(9), "9 shards among the 20 closest: not enough to read");

        int repaired = 0;
        for (int pass = 0; pass < 2; pass++)
            foreach (var node in mesh.Nodes) repaired += (await node.RunRepairPassAsync(cancellationToken)).ShardsRepaired;
        Assert.That(repaired, Is.EqualTo(6));
        var after = await client.Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(after.Segments[0].ShardsVerified, Is.EqualTo(15));
        Assert.That(after.Segments[0].Holders.Select(h => h.Node).Distinct().Count(), Is.EqualTo(15));
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
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
