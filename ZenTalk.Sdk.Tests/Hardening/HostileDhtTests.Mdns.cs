using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Dht.Mdns;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Announcement floods on the mDNS port (loopback only, inside the namespace .ci/run makes).</summary>
public partial class HostileDhtTests
{
    [Test]
    public async Task A_flood_of_mdns_announcements_keeps_the_discovery_table_bounded_and_reports_no_forbidden_address()
    {
        int port;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0))) port = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        var reported = new ConcurrentQueue<BootstrapPeer>();
        MdnsDiscovery discovery;
        try
        {
            discovery = MdnsDiscovery.Start(IPAddress.Loopback, NodeId.Random(), 1111, reported.Enqueue, TimeSpan.FromSeconds(60), port);
        }
        catch (SocketException ex)
        {
            string reason = $"No multicast on loopback ({ex.SocketErrorCode}: {ex.Message}); run inside the network namespace of .ci/run.";
            if (Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_MULTICAST") == "1") Assert.Fail(reason);
            Assert.Ignore(reason);
            return;
        }
        await using (discovery)
        {
            // 5,000 announcements of made-up nodes, sent straight to the discovery socket; every fourth names an address
            // no node may dial (unspecified, multicast, broadcast, and the private scope: shared and link-local addresses stand
            // for it here, as in the lookup tests).
            IPAddress[] forbidden = [IPAddress.Any, IPAddress.Parse("224.0.0.251"), IPAddress.Broadcast, IPAddress.Parse("100.64.0.1"), IPAddress.Parse("169.254.1.1")];
            using var sender = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            const int Announcements = 5000;
            for (int i = 0; i < Announcements; i++)
            {
                var address = i % 4 == 0 ? forbidden[i / 4 % forbidden.Length] : IPAddress.Parse($"127.1.{i / 250}.{i % 250 + 1}");
                var bytes = MdnsServiceMessages.Announcement(NodeId.Random(), 4001, address).ToByteArray();
                await sender.SendAsync(bytes, new IPEndPoint(IPAddress.Loopback, port));
                if (i % 200 == 0) await Task.Delay(5); // let the receiver keep up: the point is what it keeps, not what the socket drops
            }
            int last = -1;
            for (int i = 0; i < 100 && reported.Count != last; i++)
            {
                last = reported.Count;
                await Task.Delay(100);
            }
            int bad = reported.Count(p => !IPAddress.IsLoopback(p.EndPoint.Address));
            TestContext.Out.WriteLine($"{Announcements} mDNS announcements of made-up nodes: {reported.Count} reported for joining ({bad} at forbidden addresses), "
                + $"discovery table {discovery.TrackedPeers} entries (cap {MdnsDiscovery.MaxTrackedPeers})");
            Assert.That(bad, Is.Zero, "an announcement naming an address the filter refuses is ignored");
            Assert.That(discovery.TrackedPeers, Is.LessThanOrEqualTo(MdnsDiscovery.MaxTrackedPeers), "the discovery table is bounded");
            Assert.That(reported.Count, Is.LessThanOrEqualTo(MdnsDiscovery.MaxTrackedPeers), "new peers reported per announce interval are bounded");
        }
    }
}
