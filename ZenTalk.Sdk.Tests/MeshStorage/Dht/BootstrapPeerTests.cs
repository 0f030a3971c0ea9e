using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class BootstrapPeerTests
{
    [Test]
    public void Addresses_with_and_without_an_id_parse()
    {
        var id = NodeId.Random();
        Assert.That(BootstrapPeer.Parse("127.0.0.1:4001"), Is.EqualTo(new BootstrapPeer(new IPEndPoint(IPAddress.Loopback, 4001))));
        Assert.That(BootstrapPeer.Parse($"127.0.0.1:4001/{id}").ExpectedId, Is.EqualTo(id));
        Assert.That(BootstrapPeer.Parse($"[::1]:4001/{id.ToBase32()}"), Is.EqualTo(new BootstrapPeer(new IPEndPoint(IPAddress.IPv6Loopback, 4001), id)));
        Assert.That(BootstrapPeer.Parse(BootstrapPeer.Parse($"127.0.0.1:9/{id}").ToString()).ExpectedId, Is.EqualTo(id));
    }

    [TestCase("127.0.0.1")]
    [TestCase("127.0.0.1:0")]
    [TestCase("127.0.0.1:4001/nothex")]
    [TestCase("not an address")]
    public void Malformed_addresses_are_refused(string text) =>
        Assert.Throws<FormatException>(() => BootstrapPeer.Parse(text));

    [Test]
    public async Task Host_names_resolve()
    {
        var peer = await BootstrapPeer.ResolveAsync("localhost:4001");
        Assert.That(IPAddress.IsLoopback(peer.EndPoint.Address), Is.True);
        Assert.That(peer.EndPoint.Port, Is.EqualTo(4001));
        Assert.ThrowsAsync<FormatException>(async () => await BootstrapPeer.ResolveAsync("localhost:99999"));
    }
}
