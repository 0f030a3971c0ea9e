using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class RoutingTableTests
{
    private static readonly Random Rng = new(11);

    private static PeerContact Peer(NodeId id, string ip) => new(id, new IPEndPoint(IPAddress.Parse(ip), 4001));

    private static (RoutingTable Table, NodeId Self) NewTable(bool loopback = false, int perSubnet = 2, int k = 20)
    {
        var self = NodeId.Random(Rng);
        return (new RoutingTable(self, new DhtOptions { K = k, MaxPerSubnetPerBucket = perSubnet, AllowLoopbackClusters = loopback }, TimeProvider.System), self);
    }

    [Test]
    public void Closest_returns_peers_ordered_by_xor_distance()
    {
        var (table, _) = NewTable(loopback: true);
        var peers = Enumerable.Range(0, 300).Select(i => Peer(NodeId.Random(Rng), "127.0.0.1")).ToList();
        foreach (var p in peers) table.Update(p, out _);
        var target = NodeId.Random(Rng);
        var closest = table.Closest(target, 20);
        var inTable = table.All();
        var expected = inTable.OrderBy(p => target.DistanceTo(p.Id)).Take(20).ToList();
        Assert.That(closest, Is.EqualTo(expected));
        Assert.That(inTable, Has.Count.LessThan(300), "far buckets hold at most k peers");
    }

    [Test]
    public void A_full_bucket_keeps_its_oldest_peer_until_a_ping_fails()
    {
        var (table, self) = NewTable(loopback: true, k: 3);
        // All in bucket 0: first bit differs from ours.
        var peers = Enumerable.Range(0, 4).Select(_ => Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1")).ToList();
        for (int i = 0; i < 3; i++) Assert.That(table.Update(peers[i], out _), Is.EqualTo(RoutingTable.UpdateResult.Added));

        Assert.That(table.Update(peers[3], out var oldest), Is.EqualTo(RoutingTable.UpdateResult.BucketFull));
        Assert.That(oldest, Is.EqualTo(peers[0]), "the least-recently-seen peer is the one to ping");
        Assert.That(table.Contains(peers[3].Id), Is.False, "a newcomer never evicts without a ping");

        table.ResolvePing(oldest, answered: true);
        Assert.That(table.Contains(peers[0].Id), Is.True);
        Assert.That(table.Contains(peers[3].Id), Is.False);

        // Now peers[1] is the oldest; it fails its ping and the newcomer (in the replacement cache) takes its place.
        Assert.That(table.Update(peers[3], out oldest), Is.EqualTo(RoutingTable.UpdateResult.BucketFull));
        Assert.That(oldest, Is.EqualTo(peers[1]));
        table.ResolvePing(oldest, answered: false);
        Assert.That(table.Contains(peers[1].Id), Is.False);
        Assert.That(table.Contains(peers[3].Id), Is.True);
    }

    [Test]
    public void Seeing_a_peer_again_moves_it_to_most_recently_seen()
    {
        var (table, self) = NewTable(loopback: true, k: 2);
        var a = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        var b = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        var c = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        table.Update(a, out _);
        table.Update(b, out _);
        Assert.That(table.Update(a, out _), Is.EqualTo(RoutingTable.UpdateResult.Refreshed));
        table.Update(c, out var oldest);
        Assert.That(oldest, Is.EqualTo(b));
    }

    [Test]
    public void One_subnet_cannot_fill_a_bucket()
    {
        var (table, self) = NewTable(perSubnet: 2);
        var results = Enumerable.Range(0, 5)
            .Select(i => table.Update(Peer(self.RandomWithSharedPrefix(0, Rng), $"198.51.100.{i + 1}"), out _))
            .ToList();
        Assert.That(results.Count(r => r == RoutingTable.UpdateResult.Added), Is.EqualTo(2));
        Assert.That(results.Skip(2), Is.All.EqualTo(RoutingTable.UpdateResult.Rejected));
        // Another /24 is still welcome. (RFC 5737 documentation addresses: the table only books them, nothing is sent.)
        Assert.That(table.Update(Peer(self.RandomWithSharedPrefix(0, Rng), "203.0.113.1"), out _), Is.EqualTo(RoutingTable.UpdateResult.Added));
    }

    [Test]
    public void Ipv6_peers_are_limited_per_slash_64()
    {
        var (table, self) = NewTable(perSubnet: 1);
        Assert.That(table.Update(Peer(self.RandomWithSharedPrefix(0, Rng), "2001:db8:1:2::1"), out _), Is.EqualTo(RoutingTable.UpdateResult.Added));
        Assert.That(table.Update(Peer(self.RandomWithSharedPrefix(0, Rng), "2001:db8:1:2::2"), out _), Is.EqualTo(RoutingTable.UpdateResult.Rejected));
        Assert.That(table.Update(Peer(self.RandomWithSharedPrefix(0, Rng), "2001:db8:1:3::1"), out _), Is.EqualTo(RoutingTable.UpdateResult.Added));
    }

    [Test]
    public void Loopback_is_limited_too_unless_the_override_is_set()
    {
        var (strict, s1) = NewTable(perSubnet: 2);
        var (cluster, s2) = NewTable(perSubnet: 2, loopback: true);
        int strictAdded = 0, clusterAdded = 0;
        for (int i = 0; i < 6; i++)
        {
            if (strict.Update(Peer(s1.RandomWithSharedPrefix(0, Rng), "127.0.0.1"), out _) == RoutingTable.UpdateResult.Added) strictAdded++;
            if (cluster.Update(Peer(s2.RandomWithSharedPrefix(0, Rng), "127.0.0.1"), out _) == RoutingTable.UpdateResult.Added) clusterAdded++;
        }
        Assert.That(strictAdded, Is.EqualTo(2));
        Assert.That(clusterAdded, Is.EqualTo(6));
    }

    [Test]
    public void Repeated_failures_remove_a_peer_and_promote_a_replacement()
    {
        var (table, self) = NewTable(loopback: true, k: 1);
        var a = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        var b = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        table.Update(a, out _);
        table.Update(b, out _); // full: b waits in the replacement cache
        table.RecordFailure(a.Id);
        Assert.That(table.Contains(a.Id), Is.True, "one failure is not enough");
        table.RecordFailure(a.Id);
        Assert.That(table.Contains(a.Id), Is.False);
        Assert.That(table.Contains(b.Id), Is.True);
    }

    [Test]
    public void A_failed_request_marks_a_peer_until_it_answers_or_the_failure_memory_passes()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var self = NodeId.Random(Rng);
        var table = new RoutingTable(self, new DhtOptions { AllowLoopbackClusters = true, FailureMemory = TimeSpan.FromMinutes(2) }, time);
        var a = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        var b = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        table.Update(a, out _);
        table.Update(b, out _);
        Assert.That(table.FailedRecently(a.Id), Is.False);

        table.RecordFailure(a.Id);
        Assert.That(table.FailedRecently(a.Id), Is.True);
        Assert.That(table.FailedRecently(b.Id), Is.False);
        Assert.That(table.Closest(self, 2), Has.Count.EqualTo(2), "still in the table, and still named by Closest");
        Assert.That(table.ClosestAnswering(self, 2).Select(c => c.Id), Is.EqualTo(new[] { b.Id }));

        time.Advance(TimeSpan.FromMinutes(1));
        table.RecordFailure(a.Id); // a lookup asked it again and it failed again: the record is renewed
        time.Advance(TimeSpan.FromSeconds(90));
        Assert.That(table.FailedRecently(a.Id), Is.True);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.That(table.FailedRecently(a.Id), Is.False, "two minutes after its last failure it is asked like any other");

        table.RecordFailure(b.Id);
        Assert.That(table.Refresh(b), Is.True);
        Assert.That(table.FailedRecently(b.Id), Is.False, "an answer clears the record");
        Assert.That(table.FailedRecently(NodeId.Random(Rng)), Is.False, "a peer the table does not hold");
    }

    [Test]
    public void Repeated_failures_do_not_empty_a_bucket_when_no_replacement_waits()
    {
        // A partition fails every peer at once; dropping them all would leave nobody to ask once it heals.
        var (table, self) = NewTable(loopback: true, k: 2);
        var a = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        var b = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        table.Update(a, out _);
        table.Update(b, out _);
        for (int i = 0; i < 5; i++)
        {
            table.RecordFailure(a.Id);
            table.RecordFailure(b.Id);
        }

        Assert.That(table.Contains(a.Id) && table.Contains(b.Id), Is.True);
        Assert.That(table.Closest(self, 2).Select(c => c.Id), Is.EquivalentTo(new[] { a.Id, b.Id }), "still asked, so a healed peer is found again");

        // A newcomer now waits: the next failure of a stale peer hands its place over.
        var c = Peer(self.RandomWithSharedPrefix(0, Rng), "127.0.0.1");
        Assert.That(table.Update(c, out _), Is.EqualTo(RoutingTable.UpdateResult.BucketFull));
        table.RecordFailure(a.Id);
        Assert.That(table.Contains(a.Id), Is.False);
        Assert.That(table.Contains(c.Id), Is.True);
    }

    [Test]
    public void Our_own_id_is_never_added()
    {
        var (table, self) = NewTable(loopback: true);
        Assert.That(table.Update(Peer(self, "127.0.0.1"), out _), Is.EqualTo(RoutingTable.UpdateResult.Rejected));
        Assert.That(table.Count, Is.Zero);
    }

    [Test]
    public void Untouched_buckets_are_stale_and_refreshed_ones_are_not()
    {
        var (table, self) = NewTable(loopback: true);
        table.Update(Peer(self.RandomWithSharedPrefix(3, Rng), "127.0.0.1"), out _);
        var stale = table.StaleBuckets();
        Assert.That(stale, Is.EquivalentTo(new[] { 0, 1, 2, 4 }), "bucket 3 was just touched; refresh goes one past the deepest");
        table.MarkRefreshed(0);
        Assert.That(table.StaleBuckets(), Does.Not.Contain(0));
    }
}
