using System.Net;
using System.Net.Sockets;
using Makaretu.Dns;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Dht.Mdns;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class MdnsTests
{
    [Test]
    public void Announcements_survive_dns_wire_serialization_with_the_pinned_simplebase()
    {
        // Makaretu.Dns 2.0.1 asks for SimpleBase 1.3.1; we run it against 3.0.0. PTR, SRV, TXT and A must still
        // serialize and parse (any use of a moved SimpleBase API would throw here at run time).
        var id = NodeId.Random();
        var bytes = MdnsServiceMessages.Announcement(id, 4242, IPAddress.Parse("127.0.0.5")).ToByteArray();
        var parsed = new Message();
        parsed.Read(bytes, 0, bytes.Length);
        Assert.That(parsed.Answers.OfType<PTRRecord>().Single().DomainName.ToString(), Does.StartWith(id.ToBase32()));
        var peers = MdnsServiceMessages.ReadPeers(parsed, IPAddress.Parse("127.0.0.9"));
        Assert.That(peers, Has.Count.EqualTo(1));
        Assert.That(peers[0].ExpectedId, Is.EqualTo(id));
        Assert.That(peers[0].EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("127.0.0.5"), 4242)));

        var query = MdnsServiceMessages.Query().ToByteArray();
        var q = new Message();
        q.Read(query, 0, query.Length);
        Assert.That(MdnsServiceMessages.IsServiceQuery(q), Is.True);
    }

    [Test]
    public void An_announcement_whose_txt_id_disagrees_with_its_name_is_ignored()
    {
        var message = MdnsServiceMessages.Announcement(NodeId.Random(), 4242, IPAddress.Loopback);
        var txt = message.AdditionalRecords.OfType<TXTRecord>().Single();
        txt.Strings[0] = $"id={NodeId.Random()}";
        var bytes = message.ToByteArray();
        var parsed = new Message();
        parsed.Read(bytes, 0, bytes.Length);
        Assert.That(MdnsServiceMessages.ReadPeers(parsed, IPAddress.Loopback), Is.Empty);
    }

    [Test]
    public async Task Two_nodes_on_loopback_discover_each_other_with_no_bootstrap_list()
    {
        var rpc = new RpcOptions { HandshakeTimeout = TimeSpan.FromSeconds(5) };
        var dht = new DhtOptions { AllowLoopbackClusters = true };
        using var idA = NodeIdentity.CreateEphemeral();
        using var idB = NodeIdentity.CreateEphemeral();
        await using var a = DhtNetworkNode.Start(idA, new IPEndPoint(IPAddress.Loopback, 0), rpc, dht);
        await using var b = DhtNetworkNode.Start(idB, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), rpc, dht);
        try
        {
            a.StartMdns(IPAddress.Loopback, TimeSpan.FromSeconds(2));
            b.StartMdns(IPAddress.Loopback, TimeSpan.FromSeconds(2));
        }
        catch (SocketException ex)
        {
            string reason = $"No multicast on loopback ({ex.SocketErrorCode}: {ex.Message}); run inside the network namespace of .ci/run.";
            if (Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_MULTICAST") == "1") Assert.Fail(reason);
            Assert.Ignore(reason);
        }
        for (int i = 0; i < 200 && !(a.Dht.Table.Contains(idB.Id) && b.Dht.Table.Contains(idA.Id)); i++)
            await Task.Delay(50);
        if (!a.Dht.Table.Contains(idB.Id) && !b.Dht.Table.Contains(idA.Id) && Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_MULTICAST") != "1")
            Assert.Ignore("Multicast datagrams are not delivered on this host's loopback; run inside the network namespace of .ci/run.");
        Assert.That(a.Dht.Table.Contains(idB.Id), Is.True, "A found B");
        Assert.That(b.Dht.Table.Contains(idA.Id), Is.True, "B found A");
    }

    [Test]
    public async Task A_node_announces_its_listen_address_not_just_the_interface()
    {
        var heard = new TaskCompletionSource<BootstrapPeer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var self = NodeId.Random();
        var other = NodeId.Random();
        MdnsDiscovery listener, speaker;
        try
        {
            listener = MdnsDiscovery.Start(IPAddress.Loopback, self, 1111, p => { if (p.ExpectedId == other) heard.TrySetResult(p); }, TimeSpan.FromSeconds(2));
            speaker = MdnsDiscovery.Start(IPAddress.Loopback, other, 2222, _ => { }, TimeSpan.FromSeconds(2), advertisedAddress: IPAddress.Parse("127.0.0.7"));
        }
        catch (SocketException ex)
        {
            string reason = $"No multicast on loopback ({ex.SocketErrorCode}: {ex.Message}); run inside the network namespace of .ci/run.";
            if (Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_MULTICAST") == "1") Assert.Fail(reason);
            Assert.Ignore(reason);
            return;
        }
        await using (listener)
        await using (speaker)
        {
            var done = await Task.WhenAny(heard.Task, Task.Delay(TimeSpan.FromSeconds(10)));
            if (done != heard.Task && Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_MULTICAST") != "1")
                Assert.Ignore("Multicast datagrams are not delivered on this host's loopback; run inside the network namespace of .ci/run.");
            Assert.That(heard.Task.IsCompleted, Is.True, "the announcement was heard");
            Assert.That((await heard.Task).EndPoint, Is.EqualTo(new IPEndPoint(IPAddress.Parse("127.0.0.7"), 2222)));
        }
    }
}
