using System.Diagnostics;
using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Lookups that touch a hostile responder, over real TLS on 127.0.0.x.</summary>
public partial class HostileDhtTests
{
    /// <summary>Addresses no lookup may dial from a loopback node: unspecified, multicast, broadcast, reserved, private
    /// (shared, link-local and unique-local stand for the private scope; the RFC 1918 ranges are classified the same way,
    /// which <c>PeerAddressFilterTests</c> checks without a socket, so no test hands them to a node).</summary>
    /// <remarks>
    /// Only names the liar hands out: the victim runs behind <see cref="GuardedTransport"/>, which refuses every call to a
    /// non-loopback address before anything is sent (and counts it, which fails the test), so none of these is ever dialed.
    /// </remarks>
    private static readonly IPEndPoint[] Forbidden =
    [
        new(IPAddress.Any, 4001), new(IPAddress.Parse("224.0.0.251"), 5353), new(IPAddress.Broadcast, 4001),
        new(IPAddress.Parse("240.0.0.1"), 4001), new(IPAddress.Parse("169.254.1.1"), 4001), new(IPAddress.Parse("100.64.0.1"), 4001),
        new(IPAddress.Parse("198.18.0.1"), 4001), new(IPAddress.IPv6Any, 4001), new(IPAddress.Parse("ff02::1"), 4001),
        new(IPAddress.Parse("fd00::1"), 4001), new(IPAddress.Parse("fe80::1"), 4001), new(IPAddress.Parse("0.1.2.3"), 4001),
    ];

    [Test]
    public async Task A_responder_naming_tarpits_and_forbidden_hosts_neither_stalls_a_lookup_nor_makes_the_node_dial_them()
    {
        // MeshNode's timings: 3 s per request, 18 s per lookup.
        var options = new DhtOptions { AllowLoopbackClusters = true, RequestTimeout = TimeSpan.FromSeconds(3), LookupTimeout = TimeSpan.FromSeconds(18) };
        var rpc = new RpcOptions();
        var honest = new List<DhtNetworkNode>();
        var identities = new List<NodeIdentity>();
        var tarpits = new List<TarpitListener>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                var id = NodeIdentity.CreateEphemeral();
                identities.Add(id);
                honest.Add(DhtNetworkNode.Start(id, new IPEndPoint(IPAddress.Parse($"127.0.0.{31 + i}"), 0), rpc, options));
            }
            foreach (var n in honest.Skip(1)) await n.Dht.PingAsync(honest[0].Contact, CancellationToken.None);
            await Task.WhenAll(honest.Select(n => n.Dht.FindNodeAsync(n.Contact.Id)));
            for (int i = 0; i < 24; i++) tarpits.Add(new TarpitListener(IPAddress.Parse($"127.0.0.{41 + i}")));

            // 64 made-up peers per answer (k = 20), all closer to the target than any real node: tarpits that accept and
            // never speak, forbidden addresses, and honest nodes' addresses under ids they do not have.
            var liar = new LyingDhtHandler(target => Enumerable.Range(0, 64).Select(i =>
            {
                var endPoint = (i % 4) switch
                {
                    0 or 2 => tarpits[i / 2 % tarpits.Count].EndPoint,
                    1 => Forbidden[i / 4 % Forbidden.Length],
                    _ => honest[i / 4 % honest.Count].Contact.EndPoint,
                };
                return LyingDhtHandler.Peer(LyingDhtHandler.NextTo(target, i), endPoint);
            }));
            using var liarId = NodeIdentity.CreateEphemeral();
            await using var hostile = new RpcServer(liarId, rpc, liar);
            hostile.Start(new IPEndPoint(IPAddress.Parse("127.0.0.40"), 0));

            await using var victim = GuardedDhtNode.Start(IPAddress.Parse("127.0.0.30"), rpc, options);
            foreach (var n in honest) Assert.That(await victim.Dht.PingAsync(n.Contact, CancellationToken.None), Is.True);
            Assert.That(await victim.Dht.PingAsync(new PeerContact(liarId.Id, hostile.LocalEndPoint), CancellationToken.None), Is.True);

            var target = NodeId.Random(new Random(61));
            var clock = Stopwatch.StartNew();
            var result = await victim.Dht.FindNodeAsync(target);
            clock.Stop();
            int tarpitDials = tarpits.Sum(t => t.Accepted);
            var expected = honest.Select(n => n.Contact.Id).MinBy(id => target.DistanceTo(id));
            TestContext.Out.WriteLine(
                $"lookup touching a responder that names 64 made-up peers: {clock.Elapsed.TotalSeconds:0.0} s (deadline {options.LookupTimeout.TotalSeconds:0} s), "
                + $"complete {result.Complete}, {result.Queried} requests ({result.Failed} failed), {tarpitDials} dials to tarpits the attacker named, "
                + $"{victim.Guard.Refused} calls to forbidden addresses, {liar.Answered} answers from the liar");

            Assert.That(victim.Guard.Refused, Is.Zero, "the node tried to reach an address its filter must refuse");
            // The liar is distrusted at its third failed referral; at most α - 1 others can be in flight by then.
            Assert.That(tarpitDials, Is.LessThanOrEqualTo(options.MaxFailedReferralsPerPeer + options.Alpha - 1), "one liar's referrals cost a bounded number of dials");
            Assert.That(result.Complete, Is.True, "the lookup ended on its own, not at its deadline");
            Assert.That(result.Closest.Select(c => c.Id), Does.Contain(expected), "the lookup still finds the true closest node");
            Assert.That(result.Distrusted, Is.EqualTo(1), "the liar's referrals are no longer followed");
        }
        finally
        {
            foreach (var t in tarpits) await t.DisposeAsync();
            await Task.WhenAll(honest.Select(n => n.DisposeAsync().AsTask()));
            foreach (var i in identities) i.Dispose();
        }
    }
}
