using System.Diagnostics;
using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Callers that claim a listen address they do not serve, over real TLS on 127.0.0.x.</summary>
public partial class HostileDhtTests
{
    private static async Task PingFromAsync(IPAddress source, int claimedPort, PeerContact to, NodeIdentity? identity = null)
    {
        using var own = identity is null ? NodeIdentity.CreateEphemeral() : null;
        await using var client = new RpcClient(identity ?? own!, Rpc) { LocalBindAddress = source, LocalListenPort = claimedPort };
        await client.CallAsync(to, new Request { Ping = new PingRequest() }, TimeSpan.FromSeconds(15), CancellationToken.None);
    }

    [Test]
    public async Task An_inbound_peer_enters_the_routing_table_only_after_answering_at_the_address_it_claims()
    {
        var options = new DhtOptions { AllowLoopbackClusters = true };
        await using var victim = GuardedDhtNode.Start(IPAddress.Parse("127.0.0.2"), Rpc, options);
        using var otherId = NodeIdentity.CreateEphemeral();
        await using var other = DhtNetworkNode.Start(otherId, new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0), Rpc, options);
        await using var tarpit = new TarpitListener(IPAddress.Parse("127.0.0.4"));
        using var honestId = NodeIdentity.CreateEphemeral();
        await using var honest = DhtNetworkNode.Start(honestId, new IPEndPoint(IPAddress.Parse("127.0.0.6"), 0), Rpc, options);

        // Three liars: one claims the port another node serves on its address, one a tarpit, one a port where nobody listens.
        using var liar1 = NodeIdentity.CreateEphemeral();
        using var liar2 = NodeIdentity.CreateEphemeral();
        using var liar3 = NodeIdentity.CreateEphemeral();
        await PingFromAsync(IPAddress.Parse("127.0.0.3"), other.Contact.EndPoint.Port, victim.Contact, liar1);
        await PingFromAsync(IPAddress.Parse("127.0.0.4"), tarpit.EndPoint.Port, victim.Contact, liar2);
        await PingFromAsync(IPAddress.Parse("127.0.0.5"), 9, victim.Contact, liar3);
        Assert.That(await honest.Dht.PingAsync(victim.Contact, CancellationToken.None), Is.True);

        var clock = Stopwatch.StartNew();
        while (!victim.Dht.Table.Contains(honestId.Id) && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        // Give the liars' checks the same time to fail (the tarpit's only ends with the request timeout).
        while (victim.Dht.InboundChecksInFlight > 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        var liars = new[] { liar1.Id, liar2.Id, liar3.Id }.Count(victim.Dht.Table.Contains);
        TestContext.Out.WriteLine($"callers claiming listen addresses: {liars} of 3 liars in the routing table, honest caller in it: {victim.Dht.Table.Contains(honestId.Id)}");
        Assert.That(liars, Is.Zero, "a caller whose claimed address does not answer with its id stays out");
        Assert.That(victim.Dht.Table.Contains(honestId.Id), Is.True, "a caller that answers where it claims is added");
    }

    [Test]
    public async Task Callers_claiming_many_listen_ports_make_the_node_dial_back_a_bounded_number_of_times()
    {
        var options = new DhtOptions(); // production defaults: loopback gets no exemption
        await using var victim = GuardedDhtNode.Start(IPAddress.Parse("127.0.0.2"), Rpc, options);
        var source = IPAddress.Parse("127.0.0.7");
        // 300 fresh identities, each claiming a different port on the caller's address: a port scan by dial-back. The
        // scanner keeps under the victim's per-address connection limit (16), so every one of its pings is served and
        // asks for a dial-back: callers over the limit would be refused before the DHT sees them.
        var clock = Stopwatch.StartNew();
        using var underTheLimit = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            await underTheLimit.WaitAsync();
            try
            {
                await PingFromAsync(source, 20_000 + i, victim.Contact);
            }
            finally
            {
                underTheLimit.Release();
            }
        }));
        var elapsed = clock.Elapsed;
        while (victim.Dht.InboundChecksInFlight > 0 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
        int dialBacks = victim.Guard.Calls.Where(c => c.Key.Address.Equals(source)).Sum(c => c.Value);
        int entries = victim.Dht.Table.All().Count(c => c.EndPoint.Address.Equals(source));
        TestContext.Out.WriteLine($"300 callers claiming 300 ports in {elapsed.TotalSeconds:0.0} s: {dialBacks} dial-backs, {entries} unverified entries in the routing table");
        Assert.That(entries, Is.Zero, "no claimed address that does not answer enters the table");
        Assert.That(dialBacks, Is.LessThanOrEqualTo(options.InboundChecksPerAddress + (int)Math.Ceiling(clock.Elapsed / options.InboundCheckInterval)),
            "dial-backs to one address are rate-limited");
    }
}
