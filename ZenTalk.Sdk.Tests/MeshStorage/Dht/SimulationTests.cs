using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Dht.Simulation;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

/// <summary>The real routing and lookup code on an in-memory wire (small networks; the 10,000-node run is a benchmark).</summary>
public class SimulationTests
{
    private static DhtOptions SimOptions(int k = 20) => new()
    {
        K = k,
        AllowLoopbackClusters = true,
        RequestTimeout = TimeSpan.FromSeconds(2),
        LookupTimeout = TimeSpan.FromSeconds(30),
    };

    private static NodeId TrueClosest(IEnumerable<DhtNode> alive, NodeId target) =>
        alive.Select(n => n.Self.Id).MinBy(id => target.DistanceTo(id));

    [Test]
    public async Task Lookups_in_a_500_node_network_find_the_true_closest_node()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 1 });
        var rng = new Random(1);
        var nodes = await net.AddAndJoinAsync(500, SimOptions(), rng, refreshBuckets: true);
        int found = 0;
        var rounds = new List<int>();
        for (int i = 0; i < 200; i++)
        {
            var target = NodeId.Random(rng);
            var from = nodes[rng.Next(nodes.Count)];
            var result = await from.FindNodeAsync(target);
            var expected = TrueClosest(nodes.Where(n => n != from), target);
            if (result.Closest.Count > 0 && result.Closest[0].Id == expected) found++;
            rounds.Add(result.HopsToClosest);
            Assert.That(result.Complete, Is.True);
        }
        Assert.That(found, Is.EqualTo(200));
        rounds.Sort();
        Assert.That(rounds[rounds.Count / 2], Is.LessThanOrEqualTo(4));
    }

    [Test]
    public async Task Wide_lookups_in_a_500_node_network_find_the_same_k_closest_as_narrow_ones()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 3 });
        var rng = new Random(3);
        var nodes = await net.AddAndJoinAsync(500, SimOptions(), rng, refreshBuckets: true);
        for (int i = 0; i < 100; i++)
        {
            var target = NodeId.Random(rng);
            var from = nodes[rng.Next(nodes.Count)];
            var expected = nodes.Where(n => n != from).Select(n => n.Self.Id).OrderBy(id => target.DistanceTo(id)).Take(20).ToList();
            var wide = await from.FindNodeAsync(target, wide: true, CancellationToken.None);
            Assert.That(wide.Complete, Is.True);
            Assert.That(wide.Closest.Select(c => c.Id), Is.EqualTo(expected), "a wide lookup must still end at the true k closest");
        }
    }

    [Test]
    public async Task A_wide_lookup_in_a_mesh_its_table_covers_asks_everyone_once_and_agrees_with_a_narrow_one()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 4 });
        var rng = new Random(4);
        var nodes = await net.AddAndJoinAsync(15, SimOptions(), rng, refreshBuckets: true);
        for (int i = 0; i < 20; i++)
        {
            var target = NodeId.Random(rng);
            var narrow = await nodes[0].FindNodeAsync(target, wide: false, CancellationToken.None);
            var wide = await nodes[0].FindNodeAsync(target, wide: true, CancellationToken.None);
            Assert.That(wide.Closest.Select(c => c.Id), Is.EqualTo(narrow.Closest.Select(c => c.Id)));
            Assert.That(wide.Complete, Is.True);
            Assert.That(wide.Queried, Is.EqualTo(14), "every peer was known, so the wide first round asked each once and found no one new");
            Assert.That(wide.HopsToClosest, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task A_lookup_that_saw_every_node_of_a_mesh_smaller_than_k_says_so_and_no_other_does()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 9 });
        var rng = new Random(9);
        var small = await net.AddAndJoinAsync(15, SimOptions(), rng, refreshBuckets: true);
        for (int i = 0; i < 5; i++)
        {
            var whole = await small[i].FindNodeAsync(NodeId.Random(rng), wide: true, CancellationToken.None);
            Assert.That(whole.Exhaustive, Is.True, "every node answered with all it knows");
            Assert.That(whole.Closest.Select(c => c.Id), Is.EquivalentTo(small.Where(n => n != small[i]).Select(n => n.Self.Id)));
        }

        // A node that does not answer: the lookup cannot know what it would have said.
        net.Kill(small[14]);
        var partial = await small[0].FindNodeAsync(NodeId.Random(rng), wide: true, CancellationToken.None);
        Assert.That(partial.Failed, Is.Positive);
        Assert.That(partial.Exhaustive, Is.False);

        // In a mesh of k or more nodes each answer names k peers: there may always be more.
        var large = await new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 10 }).AddAndJoinAsync(60, SimOptions(), rng, refreshBuckets: true);
        var wide = await large[0].FindNodeAsync(NodeId.Random(rng), wide: true, CancellationToken.None);
        Assert.That(wide.Complete, Is.True);
        Assert.That(wide.Exhaustive, Is.False);
    }

    [Test]
    public async Task After_a_quarter_of_the_nodes_die_lookups_still_find_the_closest_live_node()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 2 });
        var rng = new Random(2);
        var nodes = await net.AddAndJoinAsync(400, SimOptions(), rng, refreshBuckets: true);
        foreach (var victim in nodes.OrderBy(_ => rng.Next()).Take(100)) net.Kill(victim);
        var alive = nodes.Where(net.IsAlive).ToList();
        int found = 0;
        for (int i = 0; i < 200; i++)
        {
            var target = NodeId.Random(rng);
            var from = alive[rng.Next(alive.Count)];
            var result = await from.FindNodeAsync(target);
            if (result.Closest.Count > 0 && result.Closest[0].Id == TrueClosest(alive.Where(n => n != from), target)) found++;
        }
        Assert.That(found, Is.GreaterThanOrEqualTo(198), "at least 99% of lookups succeed after 25% churn");
    }

    [Test]
    public async Task Lookups_survive_latency_and_message_loss()
    {
        var rng = new Random(3);
        var slow = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 4, Latency = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(2), LossRate = 0.05 });
        var nodes = await slow.AddAndJoinAsync(100, SimOptions(), new Random(4), refreshBuckets: false);
        int found = 0, tried = 0;
        for (int i = 0; i < 40; i++)
        {
            var target = nodes[rng.Next(nodes.Count)].Self.Id;
            var from = nodes[rng.Next(nodes.Count)];
            if (from.Self.Id == target) continue;
            tried++;
            var result = await from.FindNodeAsync(target);
            if (result.Closest.Count > 0 && result.Closest[0].Id == target) found++;
        }
        Assert.That(found, Is.GreaterThanOrEqualTo(tried - 2), "5% loss costs at most a couple of lookups");
    }

    [Test]
    public async Task A_lookup_past_its_deadline_returns_a_partial_result()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 5, Latency = TimeSpan.FromMilliseconds(40) });
        var options = new DhtOptions { AllowLoopbackClusters = true, LookupTimeout = TimeSpan.FromMilliseconds(150), RequestTimeout = TimeSpan.FromSeconds(5) };
        var rng = new Random(5);
        var first = net.AddNode(NodeId.Random(rng), options);
        var others = Enumerable.Range(0, 60).Select(_ => net.AddNode(NodeId.Random(rng), options)).ToList();
        // Give the first node a table by hand (joining with latency would take long).
        foreach (var o in others) first.Seen(o.Self);
        foreach (var o in others) foreach (var p in others) if (o != p) o.Seen(p.Self);
        var result = await first.FindNodeAsync(NodeId.Random(rng));
        Assert.That(result.Complete, Is.False);
        Assert.That(result.Closest, Is.Not.Empty, "the peers that answered before the deadline are returned");
    }

    [Test]
    public async Task Values_are_stored_at_the_closest_nodes_and_found_from_anywhere()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 6 });
        var rng = new Random(6);
        var nodes = await net.AddAndJoinAsync(200, SimOptions(), rng, refreshBuckets: true);
        var record = ValueRecords.CreateImmutable("a manifest"u8);
        int stored = await nodes[0].StoreValueAsync(record);
        Assert.That(stored, Is.GreaterThanOrEqualTo(20));
        var key = new NodeId(record.Key.Span);
        var holders = nodes.Where(n => n.Records.Get(key) is not null).ToList();
        var expected = nodes.OrderBy(n => key.DistanceTo(n.Self.Id)).Take(20).ToList();
        Assert.That(expected.Count(holders.Contains), Is.GreaterThanOrEqualTo(19), "the record lives at the k closest nodes");
        foreach (var n in nodes.Skip(100).Take(20))
            Assert.That(await n.FindValueAsync(key), Is.EqualTo(record));
    }

    [Test]
    public async Task Republishing_keeps_a_record_alive_after_its_holders_die()
    {
        var options = SimOptions(k: 5);
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 7 });
        var rng = new Random(7);
        var nodes = await net.AddAndJoinAsync(120, options, rng, refreshBuckets: true);
        var record = ValueRecords.CreateImmutable("keep me"u8);
        var key = new NodeId(record.Key.Span);
        await nodes[0].StoreValueAsync(record);
        var holders = nodes.Where(n => n.Records.Get(key) is not null && n != nodes[0]).ToList();
        Assert.That(holders, Has.Count.GreaterThanOrEqualTo(2));
        var survivor = holders[0];
        foreach (var h in holders.Skip(1)) net.Kill(h);
        Assert.That(await survivor.RepublishAsync(force: true), Is.EqualTo(1));
        net.Kill(survivor);
        var reader = nodes.First(n => net.IsAlive(n) && n != nodes[0] && n.Records.Get(key) is null);
        var found = await reader.FindValueAsync(key);
        Assert.That(found?.Value, Is.EqualTo(record.Value));
        // An unsigned record travels with the lifetime it had at the node that republished it, never a fresh one.
        Assert.That(found!.ExpiresUnixMs, Is.Not.Zero);
    }

    [Test]
    public async Task A_forged_record_returned_by_a_peer_is_ignored()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 8 });
        var rng = new Random(8);
        var nodes = await net.AddAndJoinAsync(60, SimOptions(), rng, refreshBuckets: true);
        var genuine = ValueRecords.CreateImmutable("genuine"u8);
        var key = new NodeId(genuine.Key.Span);
        var forged = genuine.Clone();
        forged.Value = Google.Protobuf.ByteString.CopyFromUtf8("forged");
        // Half of the peers answer every FIND_VALUE with a forged record under the key.
        var liars = nodes.Where((_, i) => i % 2 == 0).Select(n => n.Self.Id).ToHashSet();
        net.TamperResponse = (to, response) =>
        {
            if (!liars.Contains(to.Id) || response.FindValue is null) return response;
            var lie = response.Clone();
            lie.FindValue.Record = forged;
            return lie;
        };
        var reader = nodes.First(n => !liars.Contains(n.Self.Id));
        Assert.That(await reader.FindValueAsync(key), Is.Null, "forged copies are not an answer");
        await nodes[1].StoreValueAsync(genuine);
        Assert.That(await reader.FindValueAsync(key), Is.EqualTo(genuine));
    }
}
