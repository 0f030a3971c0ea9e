using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

/// <summary>Real nodes on 127.0.0.x over TLS, OS-chosen ports.</summary>
public class DhtSocketTests
{
    private readonly List<DhtNetworkNode> _nodes = [];
    private readonly List<NodeIdentity> _identities = [];

    private static readonly RpcOptions Rpc = new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(5),
        ReadTimeout = TimeSpan.FromSeconds(5),
        IdleTimeout = TimeSpan.FromSeconds(30),
        DefaultCallTimeout = TimeSpan.FromSeconds(5),
    };

    private static DhtOptions DhtOpts => new() { AllowLoopbackClusters = true, RequestTimeout = TimeSpan.FromSeconds(5) };

    private DhtNetworkNode Start(int index, TimeProvider? time = null)
    {
        var identity = NodeIdentity.CreateEphemeral();
        _identities.Add(identity);
        var node = DhtNetworkNode.Start(identity, new IPEndPoint(IPAddress.Parse($"127.0.0.{index + 1}"), 0), Rpc, DhtOpts, time: time);
        _nodes.Add(node);
        return node;
    }

    [TearDown]
    public async Task TearDown()
    {
        await Task.WhenAll(_nodes.Select(n => n.DisposeAsync().AsTask()));
        foreach (var i in _identities) i.Dispose();
        _nodes.Clear();
        _identities.Clear();
    }

    [Test]
    public async Task Thirty_nodes_bootstrap_from_one_seed_and_every_node_finds_every_other()
    {
        var seed = Start(0);
        var others = Enumerable.Range(1, 29).Select(i => Start(i)).ToList();
        foreach (var n in others)
            Assert.That(await n.Dht.BootstrapAsync([new BootstrapPeer(seed.Contact.EndPoint)], refreshBuckets: false), Is.EqualTo(1));
        // A second round of self-lookups lets early joiners meet the later ones (what refresh does over time).
        await Task.WhenAll(_nodes.Select(n => n.Dht.FindNodeAsync(n.Contact.Id)));

        var misses = new List<string>();
        await Task.WhenAll(_nodes.Select(async from =>
        {
            foreach (var target in _nodes)
            {
                if (target == from) continue;
                var result = await from.Dht.FindNodeAsync(target.Contact.Id);
                if (result.Closest.Count == 0 || result.Closest[0] != target.Contact)
                    lock (misses) misses.Add($"{from.Contact} -> {target.Contact}");
            }
        }));
        Assert.That(misses, Is.Empty);
    }

    /// <summary>
    /// Dead nodes stay in routing tables whose buckets are not full (nobody waits to replace them). Answers used to
    /// name them among their k closest, so with 8 of 30 gone a lookup found only the live nodes that some answer still
    /// had room for: fewer than the k closest live ones, and each node a different subset (the testnet's repair placed
    /// a shard on a node that another node's lookup did not find, and never converged).
    /// </summary>
    [Test]
    [CancelAfter(120_000)]
    public async Task After_eight_of_thirty_nodes_die_a_lookup_finds_the_k_closest_live_nodes(CancellationToken cancellationToken)
    {
        var seed = Start(0);
        var others = Enumerable.Range(1, 29).Select(i => Start(i)).ToList();
        foreach (var n in others)
            Assert.That(await n.Dht.BootstrapAsync([new BootstrapPeer(seed.Contact.EndPoint)], refreshBuckets: false, cancellationToken), Is.EqualTo(1));
        // Rounds of lookups until every table holds every other node (as refresh does over time): each node's own ID
        // first, then, for a node whose table still misses some, the IDs it misses (a lookup that finds a node adds it;
        // on a loaded machine a call of the first rounds may have timed out). At most three rounds.
        await Task.WhenAll(_nodes.Select(n => n.Dht.FindNodeAsync(n.Contact.Id, cancellationToken)));
        for (int round = 0; round < 3 && _nodes.Any(n => n.Dht.Table.Count < 29); round++)
        {
            await Task.WhenAll(_nodes.Where(n => n.Dht.Table.Count < 29).Select(n => Task.WhenAll(_nodes
                .Where(m => m != n && !n.Dht.Table.Contains(m.Contact.Id))
                .Select(m => n.Dht.FindNodeAsync(m.Contact.Id, cancellationToken)))));
        }
        // Not always all 29: when fewer than 10 of the 30 IDs share one's first bit, the far half is more than a bucket
        // of k holds (the rest wait as replacements), in about one run of 25.
        int kPeers = seed.Dht.Options.K;
        Assert.That(_nodes.Select(n => n.Dht.Table.Count), Is.All.GreaterThanOrEqualTo(kPeers), "every table holds at least k other nodes");

        var dead = _nodes.Where((_, i) => i % 4 == 1).Take(8).ToList();
        var live = _nodes.Except(dead).ToList();
        foreach (var d in dead)
        {
            await d.DisposeAsync();
            _nodes.Remove(d);
        }
        // Every live node learns what is gone the way a running node does: its own requests to the dead fail
        // (lookups near each dead node, twice: DhtOptions.MaxFailures).
        for (int round = 0; round < 2; round++)
            await Task.WhenAll(live.Select(async n =>
            {
                foreach (var d in dead) await n.Dht.FindNodeAsync(d.Contact.Id, cancellationToken);
            }));

        int k = live[0].Dht.Options.K;
        var misses = new List<string>();
        foreach (var from in live.Take(6))
        {
            for (int t = 0; t < 5; t++)
            {
                var target = NodeId.Random();
                var result = await from.Dht.FindNodeAsync(target, cancellationToken);
                var expected = live.Where(n => n != from).Select(n => n.Contact.Id).OrderBy(id => target.DistanceTo(id)).Take(k).ToList();
                var found = result.Closest.Select(c => c.Id).ToList();
                if (!found.SequenceEqual(expected))
                    misses.Add($"{from.Contact}: {found.Count} found, {found.Intersect(expected).Count()} of the {k} closest live");
            }
        }
        Assert.That(misses, Is.Empty);
    }

    /// <summary>
    /// The testnet's burst of reads after a client's idle connections had closed: its calls timed out while every
    /// connection was dialled again, so its table counted most peers as failed a moment ago, and every lookup but the
    /// first found each of them probed by another lookup and gave it up ("no node answered the lookup"). Here every
    /// peer is alive but one black hole (a socket that accepts and never answers), all are marked failed, and the
    /// lookups start together (the reader's calls are held until the last one has started, as dials under load hold
    /// them): each must still find every live node, and the black hole is asked once, not once per lookup.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task Concurrent_lookups_through_a_table_of_recently_failed_peers_find_every_live_node(CancellationToken cancellationToken)
    {
        const int Live = 12, Lookups = 40;
        HeldTransport? held = null;
        var identity = NodeIdentity.CreateEphemeral();
        _identities.Add(identity);
        var reader = DhtNetworkNode.Start(identity, new IPEndPoint(IPAddress.Parse("127.0.0.1"), 0), Rpc, DhtOpts,
            transport: t => held = new HeldTransport(t));
        _nodes.Add(reader);
        var live = Enumerable.Range(1, Live).Select(i => Start(i)).ToList();
        Assert.That(await reader.Dht.BootstrapAsync(live.Select(n => new BootstrapPeer(n.Contact.EndPoint, n.Contact.Id)), refreshBuckets: false,
            cancellationToken), Is.EqualTo(Live));
        // Each live node checks the reader's address with a ping of its own (a dial-back), and that inbound call tells
        // the reader the node is alive: the failures are marked below only once every dial-back is over, or some peers
        // would count as answering and the lookups would stop at their answers without the probes.
        for (int i = 0; i < 200 && live.Any(n => !n.Dht.Table.Contains(reader.Contact.Id) || n.Dht.InboundChecksInFlight > 0); i++)
            await Task.Delay(50, cancellationToken);
        Assert.That(live.Select(n => n.Dht.Table.Contains(reader.Contact.Id)), Is.All.True, "every live node checked the reader's address");
        using var hole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        hole.Bind(new IPEndPoint(IPAddress.Parse($"127.0.0.{Live + 2}"), 0));
        hole.Listen(64);
        var dead = new PeerContact(NodeId.Random(), (IPEndPoint)hole.LocalEndPoint!);
        var table = reader.Dht.Table;
        Assert.That(table.Update(dead, out _), Is.EqualTo(RoutingTable.UpdateResult.Added));
        foreach (var peer in table.All()) table.RecordFailure(peer.Id);
        Assert.That(table.All().Count(p => table.FailedRecently(p.Id)), Is.EqualTo(Live + 1), "every peer counts as failed a moment ago");

        var targets = Enumerable.Range(0, Lookups).Select(_ => NodeId.Random()).ToList();
        held!.Hold();
        var burst = Task.WhenAll(targets.Select(t => reader.Dht.FindNodeAsync(t, cancellationToken)));
        held.Release();
        var results = await burst;

        var misses = new List<string>();
        for (int i = 0; i < Lookups; i++)
        {
            var expected = live.Select(n => n.Contact.Id).OrderBy(id => targets[i].DistanceTo(id)).ToList();
            var found = results[i].Closest.Select(c => c.Id).ToList();
            if (!found.SequenceEqual(expected)) misses.Add($"lookup {i}: {found.Count} found, {found.Intersect(expected).Count()} of the {Live} live nodes");
        }
        Assert.That(misses, Is.Empty);
        Assert.That(held.CallsTo(dead.Id), Is.EqualTo(1), "one probe of the black hole for all the lookups");
        Assert.That(live.Count(n => table.FailedRecently(n.Contact.Id)), Is.Zero, "the probes' answers cleared the live peers' records");
        Assert.That(table.FailedRecently(dead.Id), Is.True, "the black hole's failed probe renewed its record");
        for (int i = 0; i < 100 && reader.Dht.ProbesInFlight > 0; i++) await Task.Delay(50, cancellationToken);
        Assert.That(reader.Dht.ProbesInFlight, Is.Zero, "every probe's entry is gone once it ended");
    }

    [Test]
    public async Task Bootstrap_checks_the_expected_node_id()
    {
        var seed = Start(0);
        var joiner = Start(1);
        Assert.That(await joiner.Dht.BootstrapAsync([new BootstrapPeer(seed.Contact.EndPoint, NodeId.Random())]), Is.Zero);
        Assert.That(joiner.Dht.Table.Count, Is.Zero);
        Assert.That(await joiner.Dht.BootstrapAsync([BootstrapPeer.Parse($"{seed.Contact.EndPoint}/{seed.Contact.Id.ToBase32()}")]), Is.EqualTo(1));
        Assert.That(joiner.Dht.Table.Contains(seed.Contact.Id), Is.True);
        for (int i = 0; i < 200 && !seed.Dht.Table.Contains(joiner.Contact.Id); i++) await Task.Delay(50);
        Assert.That(seed.Dht.Table.Contains(joiner.Contact.Id), Is.True, "the seed learned the joiner from its call, once it answered the seed's ping-back");
    }

    [Test]
    public async Task Values_are_stored_and_found_over_tls_and_forged_ones_refused()
    {
        for (int i = 0; i < 8; i++) Start(i);
        foreach (var n in _nodes.Skip(1)) await n.Dht.BootstrapAsync([new BootstrapPeer(_nodes[0].Contact.EndPoint)]);

        var immutable = ValueRecords.CreateImmutable("manifest"u8);
        using var owner = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signed = ValueRecords.CreateSigned(owner, "tombstone"u8, "deleted"u8, 1);
        Assert.That(await _nodes[2].Dht.StoreValueAsync(immutable), Is.GreaterThan(0));
        Assert.That(await _nodes[3].Dht.StoreValueAsync(signed), Is.GreaterThan(0));
        Assert.That(await _nodes[7].Dht.FindValueAsync(new NodeId(immutable.Key.Span)), Is.EqualTo(immutable));
        Assert.That(await _nodes[6].Dht.FindValueAsync(new NodeId(signed.Key.Span)), Is.EqualTo(signed));

        var forged = signed.Clone();
        forged.Value = Google.Protobuf.ByteString.CopyFromUtf8("alive again");
        Assert.ThrowsAsync<IntegrityException>(async () => await _nodes[1].Client.CallAsync(_nodes[4].Contact,
            new Request { StoreValue = new StoreValueRequest { Record = forged } }, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.ThrowsAsync<IntegrityException>(async () => await _nodes[1].Dht.StoreValueAsync(forged));
    }

    [Test]
    public async Task Records_expire()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        for (int i = 0; i < 5; i++) Start(i, clock);
        foreach (var n in _nodes.Skip(1)) await n.Dht.BootstrapAsync([new BootstrapPeer(_nodes[0].Contact.EndPoint)]);
        var record = ValueRecords.CreateImmutable("short-lived"u8, clock.GetUtcNow().AddHours(1));
        var key = new NodeId(record.Key.Span);
        await _nodes[1].Dht.StoreValueAsync(record);
        Assert.That(await _nodes[4].Dht.FindValueAsync(key), Is.EqualTo(record));
        clock.Advance(TimeSpan.FromHours(2));
        foreach (var n in _nodes) await n.Dht.MaintainAsync();
        Assert.That(await _nodes[4].Dht.FindValueAsync(key), Is.Null);
        Assert.That(_nodes.Sum(n => n.Dht.Records.Count), Is.Zero, "expired records are dropped everywhere");
    }

    [Test]
    public async Task Node_info_reports_the_routing_table()
    {
        var a = Start(0);
        var b = Start(1);
        await b.Dht.BootstrapAsync([new BootstrapPeer(a.Contact.EndPoint)]);
        // A enters B once B answered its ping-back at the address B claimed.
        for (int i = 0; i < 200 && a.Dht.Table.Count == 0; i++) await Task.Delay(50);
        var info = await b.Client.CallAsync(a.Contact, new Request { NodeInfo = new NodeInfoRequest() }, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(new NodeId(info.NodeInfo.NodeId.Span), Is.EqualTo(a.Contact.Id));
        Assert.That(info.NodeInfo.RoutingTableSize, Is.EqualTo(1));
    }

    /// <summary>The DHT's transport, counting calls per peer; while held, calls wait (a test starts many lookups, then lets
    /// their requests go at once).</summary>
    private sealed class HeldTransport(IMeshTransport inner) : IMeshTransport
    {
        private readonly ConcurrentDictionary<NodeId, int> _calls = new();
        private TaskCompletionSource _gate = CompletedGate();

        public int CallsTo(NodeId peer) => _calls.GetValueOrDefault(peer);

        public void Hold() => Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public void Release() => Volatile.Read(ref _gate).TrySetResult();

        public async ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken)
        {
            _calls.AddOrUpdate(peer.Id, 1, (_, n) => n + 1);
            await Volatile.Read(ref _gate).Task.WaitAsync(cancellationToken);
            return await inner.CallAsync(peer, request, timeout, cancellationToken);
        }

        public ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken) =>
            inner.IdentifyAsync(endPoint, expectedId, timeout, cancellationToken);

        private static TaskCompletionSource CompletedGate()
        {
            var gate = new TaskCompletionSource();
            gate.SetResult();
            return gate;
        }
    }
}
