using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Dht.Simulation;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Peers that speak the protocol but lie, at the Rpc/Dht level: the simulation harness for the eclipse attempt (the
/// production lookup code on an in-memory wire), real TLS sockets on 127.0.0.x for identity, floods and records.
/// </summary>
public partial class HostileDhtTests
{
    private static DhtOptions Options => new()
    {
        AllowLoopbackClusters = true,
        RequestTimeout = TimeSpan.FromSeconds(5),
        LookupTimeout = TimeSpan.FromSeconds(30),
    };

    private static RpcOptions Rpc => RpcTestPeer.RoomyOptions;

    [Test]
    public async Task Peers_answering_every_lookup_with_made_up_closer_peers_do_not_capture_lookups_or_routing_tables()
    {
        var net = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = 11 });
        var rng = new Random(11);
        var nodes = await net.AddAndJoinAsync(200, Options, rng, refreshBuckets: true);
        var attackers = nodes.Where((_, i) => i % 10 == 3).ToList(); // 10% of the mesh
        var attackerIds = attackers.Select(a => a.Self.Id).ToHashSet();
        var honest = nodes.Where(n => !attackerIds.Contains(n.Self.Id)).ToList();
        var sybils = new HashSet<NodeId>();
        NodeId target = default;
        // Every attacker answers FIND_NODE / FIND_VALUE with 20 fabricated ids closer to the target than anyone, at
        // attacker addresses (the id check refuses them) or at addresses where nobody listens, plus the other attackers.
        net.TamperResponse = (to, response) =>
        {
            if (!attackerIds.Contains(to.Id)) return response;
            var lie = response.Clone();
            var peers = lie.FindNode?.CloserPeers ?? lie.FindValue?.CloserPeers;
            if (peers is null) return response;
            peers.Clear();
            var t = target.ToByteArray();
            for (int i = 0; i < 20; i++)
            {
                var fake = (byte[])t.Clone();
                fake[31] ^= (byte)(i + 1);
                var id = new NodeId(fake);
                lock (sybils) sybils.Add(id);
                var endPoint = i % 2 == 0 ? attackers[i % attackers.Count].Self.EndPoint : new IPEndPoint(IPAddress.Parse("127.250.0." + (i + 1)), 4001);
                peers.Add(new PeerContact(id, endPoint).ToWire());
            }
            foreach (var a in attackers.Take(5)) peers.Add(a.Self.ToWire());
            return lie;
        };

        int found = 0;
        const int Lookups = 100;
        for (int i = 0; i < Lookups; i++)
        {
            target = NodeId.Random(rng);
            var from = honest[rng.Next(honest.Count)];
            var result = await from.FindNodeAsync(target);
            Assert.That(result.Closest.Select(c => c.Id).Where(sybils.Contains), Is.Empty, "a made-up peer appears in a lookup result");
            var expected = nodes.Where(n => n != from).Select(n => n.Self.Id).MinBy(id => target.DistanceTo(id));
            if (result.Closest.Count > 0 && result.Closest[0].Id == expected) found++;
        }
        TestContext.Out.WriteLine($"eclipse attempt by 10% of 200 nodes: {found}/{Lookups} lookups found the true closest node");
        Assert.That(found, Is.GreaterThanOrEqualTo(Lookups * 98 / 100));
        foreach (var node in honest)
            Assert.That(node.Table.All().Select(c => c.Id).Where(sybils.Contains), Is.Empty, "a made-up peer entered a routing table");
    }

    [Test]
    public async Task A_find_node_flood_from_100k_different_callers_keeps_the_routing_table_and_answers_bounded()
    {
        var self = new PeerContact(NodeId.Random(new Random(12)), new IPEndPoint(IPAddress.Loopback, 4001));
        var options = new DhtOptions(); // production defaults: the IP-diversity limit applies to 127.x too
        var dht = new DhtNode(self, new NoTransport(), options);
        var rng = new Random(12);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < 100_000; i++)
        {
            var caller = new RpcCallContext(NodeId.Random(rng), new IPAddress([127, (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(1, 255)]), 4001);
            var target = new byte[32];
            rng.NextBytes(target);
            var response = await dht.HandleAsync(new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(target) } }, caller, CancellationToken.None);
            Assert.That(response.FindNode.CloserPeers, Has.Count.LessThanOrEqualTo(options.K));
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"100k FIND_NODE from distinct callers: routing table {dht.Table.Count} entries, managed heap +{(after - before) / 1024} KiB");
        Assert.That(dht.Table.Count, Is.LessThanOrEqualTo(options.K * NodeId.Bits));
        Assert.That(after - before, Is.LessThan(64L << 20), "a flood must not grow the node without bound");
    }

    [Test]
    public async Task A_pipelined_find_node_flood_of_50k_requests_on_one_connection_keeps_memory_bounded_while_an_honest_client_is_served()
    {
        using var identity = NodeIdentity.CreateEphemeral();
        await using var node = DhtNetworkNode.Start(identity, new IPEndPoint(IPAddress.Loopback, 0), Rpc, Options);
        using var honestId = NodeIdentity.CreateEphemeral();
        await using var honest = new RpcClient(honestId, Rpc);
        await honest.CallAsync(node.Contact, new Request { Ping = new PingRequest() }, TimeSpan.FromSeconds(15), CancellationToken.None);
        long before = GC.GetTotalMemory(forceFullCollection: true);

        await using var hostile = await HostileClient.ConnectAsync(node.Server.LocalEndPoint);
        using var stop = new CancellationTokenSource();
        long sent = 0;
        // Writes 50k FIND_NODE requests and never reads an answer: the server must keep its memory bounded (in-flight limit, send queue, TCP push-back) instead of buffering.
        var flood = Task.Run(async () =>
        {
            var rng = new Random(13);
            var batch = new List<byte>();
            for (ulong id = 1; id <= 50_000 && !stop.IsCancellationRequested; id++)
            {
                var target = new byte[32];
                rng.NextBytes(target);
                batch.AddRange(FuzzCorpus.Wire(new Frame { RequestId = id, Request = new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(target) } } }));
                if (id % 500 == 0)
                {
                    await hostile.Stream.WriteAsync(batch.ToArray(), stop.Token);
                    batch.Clear();
                    Interlocked.Exchange(ref sent, (long)id);
                }
            }
        });
        for (int i = 0; i < 20; i++)
        {
            var r = await honest.CallAsync(node.Contact, new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([5]) } }, TimeSpan.FromSeconds(15), CancellationToken.None);
            Assert.That(r.Ping.Payload[0], Is.EqualTo(5));
            await Task.Delay(50);
        }
        long during = GC.GetTotalMemory(forceFullCollection: true);
        await stop.CancelAsync();
        try
        {
            await flood.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
            // The flood writer was blocked by back-pressure when we stopped it: that is the point.
        }
        TestContext.Out.WriteLine($"pipelined flood: {Interlocked.Read(ref sent)} of 50000 requests written; managed heap +{(during - before) / 1024} KiB");
        Assert.That(during - before, Is.LessThan(64L << 20), "the node buffers a bounded amount for one flooding peer");
    }

    [Test]
    public async Task A_peer_claiming_another_nodes_id_is_refused_by_the_tls_identity_check()
    {
        using var victimId = NodeIdentity.CreateEphemeral();
        using var impostorId = NodeIdentity.CreateEphemeral();
        using var honestId = NodeIdentity.CreateEphemeral();
        await using var victim = DhtNetworkNode.Start(victimId, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), Rpc, Options);
        await using var impostor = DhtNetworkNode.Start(impostorId, new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0), Rpc, Options);
        await using var honest = DhtNetworkNode.Start(honestId, new IPEndPoint(IPAddress.Parse("127.0.0.4"), 0), Rpc, Options);

        var forged = new PeerContact(victim.Contact.Id, impostor.Contact.EndPoint);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () =>
            await honest.Client.CallAsync(forged, new Request { Ping = new PingRequest() }, TimeSpan.FromSeconds(15), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("not the expected node id"));
        Assert.That(await honest.Dht.PingAsync(forged, CancellationToken.None), Is.False);
        Assert.That(honest.Dht.Table.All(), Does.Not.Contain(forged), "the forged contact must not enter the routing table");
        // The genuine node is still reachable under its id.
        Assert.That(await honest.Dht.PingAsync(victim.Contact, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task Forged_unsigned_and_replayed_records_sent_over_the_wire_are_refused_and_the_genuine_one_kept()
    {
        using var nodeId = NodeIdentity.CreateEphemeral();
        using var senderId = NodeIdentity.CreateEphemeral();
        await using var node = DhtNetworkNode.Start(nodeId, new IPEndPoint(IPAddress.Loopback, 0), Rpc, Options);
        await using var sender = new RpcClient(senderId, Rpc);
        using var owner = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var genuine = ValueRecords.CreateSigned(owner, "manifest"u8, "v2"u8, sequence: 2);
        var key = new NodeId(genuine.Key.Span);

        async Task<Exception?> Store(ValueRecord record)
        {
            try
            {
                await sender.CallAsync(node.Contact, new Request { StoreValue = new StoreValueRequest { Record = record } }, TimeSpan.FromSeconds(15), CancellationToken.None);
                return null;
            }
            catch (MeshStorageException e)
            {
                return e;
            }
        }

        Assert.That(await Store(genuine), Is.Null);

        var unsigned = genuine.Clone();
        unsigned.Signature = ByteString.Empty;
        unsigned.Sequence = 3;
        var tombstone = ValueRecords.CreateSigned(attacker, "manifest"u8, ""u8, sequence: 99, type: 2);
        tombstone.Key = genuine.Key; // an attacker's "delete" under the owner's key slot
        var resigned = genuine.Clone();
        resigned.Sequence = 50;
        resigned.Signature = ByteString.CopyFrom(attacker.SignData(ValueRecords.SigningBytes(resigned), HashAlgorithmName.SHA256));
        var forgedImmutable = ValueRecords.CreateImmutable("manifest bytes"u8);
        forgedImmutable.Value = ByteString.CopyFromUtf8("other manifest");
        var older = ValueRecords.CreateSigned(owner, "manifest"u8, "v1"u8, sequence: 1); // genuine but outdated: a replay

        foreach (var (name, record) in new[] { ("unsigned", unsigned), ("tombstone by another key", tombstone), ("re-signed by another key", resigned), ("immutable with a changed value", forgedImmutable) })
            Assert.That(await Store(record), Is.InstanceOf<MeshStorageException>(), name + " must be refused");
        Assert.That(node.Dht.Records.Get(new NodeId(forgedImmutable.Key.Span)), Is.Null);
        _ = await Store(older);
        Assert.That(node.Dht.Records.Get(key), Is.EqualTo(genuine), "the node keeps the genuine, newest record");
    }

    private sealed class NoTransport : IMeshTransport
    {
        public ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken) =>
            ValueTask.FromException<Response>(new TimeoutException("no network in this test"));

        public ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken) =>
            ValueTask.FromException<NodeId>(new TimeoutException("no network in this test"));
    }
}
