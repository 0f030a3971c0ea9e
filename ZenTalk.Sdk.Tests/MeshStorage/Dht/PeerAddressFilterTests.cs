using System.Net;
using ZenTalk.MeshStorage.Dht;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class PeerAddressFilterTests
{
    [TestCase("0.0.0.0", "Unusable")]
    [TestCase("0.1.2.3", "Unusable")]
    [TestCase("224.0.0.251", "Unusable")]
    [TestCase("239.255.255.250", "Unusable")]
    [TestCase("240.0.0.1", "Unusable")]
    [TestCase("255.255.255.255", "Unusable")]
    [TestCase("192.0.2.7", "Unusable")]
    [TestCase("198.51.100.7", "Unusable")]
    [TestCase("203.0.113.7", "Unusable")]
    [TestCase("127.0.0.1", "Loopback")]
    [TestCase("127.3.4.5", "Loopback")]
    [TestCase("10.1.2.3", "Private")]
    [TestCase("172.16.0.1", "Private")]
    [TestCase("172.31.255.1", "Private")]
    [TestCase("192.168.1.1", "Private")]
    [TestCase("100.64.0.1", "Private")]
    [TestCase("169.254.1.1", "Private")]
    [TestCase("198.18.0.11", "Benchmark")]
    [TestCase("198.19.255.1", "Benchmark")]
    [TestCase("172.32.0.1", "Public")]
    [TestCase("100.128.0.1", "Public")]
    [TestCase("198.20.0.1", "Public")]
    [TestCase("8.8.8.8", "Public")]
    [TestCase("::", "Unusable")]
    [TestCase("::1", "Loopback")]
    [TestCase("ff02::1", "Unusable")]
    [TestCase("fe80::1", "Unusable")]
    [TestCase("2001:db8::1", "Unusable")]
    [TestCase("::ffff:10.0.0.1", "Private")]
    [TestCase("::ffff:127.0.0.1", "Loopback")]
    [TestCase("fd12:3456::1", "Private")]
    [TestCase("2a00:1450::1", "Public")]
    public void Addresses_are_classified_by_the_network_they_belong_to(string address, string scope) =>
        Assert.That(PeerAddressFilter.Classify(IPAddress.Parse(address)).ToString(), Is.EqualTo(scope));

    [Test]
    public void A_node_accepts_peers_on_its_own_kind_of_network_and_public_ones_never_unusable_ones()
    {
        var loopback = PeerAddressFilter.For(IPAddress.Parse("127.0.0.5"));
        Assert.That(loopback.Allows(IPAddress.Parse("127.0.0.9")), Is.True);
        Assert.That(loopback.Allows(IPAddress.Parse("10.0.0.1")), Is.False);
        Assert.That(loopback.Allows(IPAddress.Parse("8.8.8.8")), Is.True);

        // The testnet's nodes live on 198.18.0.0/15: they accept each other, and nothing private or local.
        var testnet = PeerAddressFilter.For(IPAddress.Parse("198.18.0.11"));
        Assert.That(testnet.Allows(IPAddress.Parse("198.18.0.12")), Is.True);
        Assert.That(testnet.Allows(IPAddress.Parse("198.19.1.1")), Is.True);
        Assert.That(testnet.Allows(IPAddress.Parse("127.0.0.1")), Is.False);
        Assert.That(testnet.Allows(IPAddress.Parse("192.168.0.1")), Is.False);

        var lan = PeerAddressFilter.For(IPAddress.Parse("192.168.1.5"));
        Assert.That(lan.Allows(IPAddress.Parse("10.9.9.9")), Is.True);
        Assert.That(lan.Allows(IPAddress.Parse("127.0.0.1")), Is.False);

        var internet = PeerAddressFilter.For(IPAddress.Parse("203.1.2.3"));
        Assert.That(internet.Allows(IPAddress.Parse("10.0.0.1")), Is.False);
        Assert.That(internet.Allows(IPAddress.Parse("127.0.0.1")), Is.False);
        Assert.That(internet.Allows(IPAddress.Parse("198.18.0.1")), Is.False);

        // Every interface: never loopback, whatever the machine has.
        Assert.That(PeerAddressFilter.For(IPAddress.Any).Allows(IPAddress.Loopback), Is.False);

        foreach (var f in new[] { loopback, testnet, lan, internet, new PeerAddressFilter(AddressScopes.Loopback | AddressScopes.Private | AddressScopes.Benchmark) })
            foreach (var bad in new[] { "0.0.0.0", "224.0.0.251", "255.255.255.255", "240.0.0.1", "::", "ff02::1", "fe80::1" })
                Assert.That(f.Allows(IPAddress.Parse(bad)), Is.False, bad);
    }
}
