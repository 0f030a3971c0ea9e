using System.Net;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class AddressPrefixTests
{
    private static AddressPrefix P(string address) => AddressPrefix.Of(IPAddress.Parse(address));

    [TestCase("198.51.100.1", "198.51.100.254")]
    [TestCase("127.0.0.1", "127.0.0.64")]
    [TestCase("10.1.2.0", "10.1.2.255")]
    [TestCase("2001:db8:1::1", "2001:db8:1:ffff:ffff:ffff:ffff:ffff")]
    [TestCase("2001:db8:1:2::", "2001:db8:1:3::9")]
    [TestCase("198.51.100.7", "::ffff:198.51.100.9")]
    public void Addresses_of_one_prefix_share_a_key(string a, string b)
    {
        Assert.That(P(a), Is.EqualTo(P(b)));
        Assert.That(P(a).GetHashCode(), Is.EqualTo(P(b).GetHashCode()));
    }

    [TestCase("198.51.100.1", "198.51.101.1")]
    [TestCase("127.0.0.1", "127.0.1.1")]
    [TestCase("2001:db8:1::1", "2001:db8:2::1")]
    [TestCase("2001:db8:1::1", "2001:db9:1::1")]
    [TestCase("0.0.0.1", "::1")]
    [TestCase("198.51.100.1", "::c633:6401")] // IPv4-compatible (not mapped) IPv6 stays IPv6
    public void Addresses_of_different_prefixes_differ(string a, string b) =>
        Assert.That(P(a), Is.Not.EqualTo(P(b)));

    [TestCase("198.51.100.77", "198.51.100.0/24")]
    [TestCase("::ffff:10.9.8.7", "10.9.8.0/24")]
    [TestCase("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::/48")]
    [TestCase("::1", "::/48")]
    public void The_prefix_prints_in_cidr_notation(string address, string cidr)
    {
        Assert.That(P(address).ToString(), Is.EqualTo(cidr));
        Assert.That(P(address).IsIPv6, Is.EqualTo(cidr.Contains(':')));
    }

    [Test]
    public void A_hundred_thousand_ipv6_addresses_of_one_48_are_one_key()
    {
        var bytes = IPAddress.Parse("2001:db8:77::").GetAddressBytes();
        var random = new Random(5);
        var keys = new HashSet<AddressPrefix>();
        for (int i = 0; i < 100_000; i++)
        {
            random.NextBytes(bytes.AsSpan(6));
            keys.Add(AddressPrefix.Of(new IPAddress(bytes)));
        }

        Assert.That(keys, Has.Count.EqualTo(1));
    }
}
