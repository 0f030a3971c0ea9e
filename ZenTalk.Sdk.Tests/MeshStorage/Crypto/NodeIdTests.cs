using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class NodeIdTests
{
    [Test]
    public void Id_is_sha256_of_the_public_key_info()
    {
        using var identity = NodeIdentity.CreateEphemeral();
        byte[] expected = SHA256.HashData(identity.Key.ExportSubjectPublicKeyInfo());
        Assert.That(identity.Id.ToByteArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Hex_and_base32_text_round_trip()
    {
        for (int i = 0; i < 200; i++)
        {
            var id = NodeId.Random();
            Assert.That(id.ToString(), Has.Length.EqualTo(64));
            Assert.That(id.ToBase32(), Has.Length.EqualTo(52));
            Assert.That(NodeId.Parse(id.ToString()), Is.EqualTo(id));
            Assert.That(NodeId.Parse(id.ToBase32()), Is.EqualTo(id));
            Assert.That(NodeId.Parse(id.ToString().ToUpperInvariant()), Is.EqualTo(id));
        }
    }

    [Test]
    public void Base32_matches_rfc4648_for_a_known_value()
    {
        var bytes = new byte[32];
        bytes[0] = 0xFF;
        var id = new NodeId(bytes);
        // 0xFF = 11111111 -> "77" then "4" (100 00) ... all zero after.
        Assert.That(id.ToBase32(), Does.StartWith("74aaaaaa"));
        Assert.That(id.ToString(), Does.StartWith("ff000000"));
    }

    [TestCase("")]
    [TestCase("zz")]
    [TestCase("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg")]
    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab")] // trailing bits not zero
    [TestCase("1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Malformed_text_is_refused(string text)
    {
        Assert.That(NodeId.TryParse(text, out _), Is.False);
        Assert.Throws<FormatException>(() => NodeId.Parse(text));
    }

    [Test]
    public void Wrong_byte_length_is_refused_with_the_parameter_name()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new NodeId(new byte[31]));
        Assert.That(ex!.ParamName, Is.EqualTo("bytes"));
    }

    [Test]
    public void Xor_distance_is_symmetric_zero_to_self_and_satisfies_the_triangle_equality()
    {
        var rng = new Random(1);
        for (int i = 0; i < 100; i++)
        {
            var a = NodeId.Random(rng);
            var b = NodeId.Random(rng);
            var c = NodeId.Random(rng);
            Assert.That(a.DistanceTo(b), Is.EqualTo(b.DistanceTo(a)));
            Assert.That(a.DistanceTo(a), Is.EqualTo(NodeId.Zero));
            // XOR metric: d(a,c) = d(a,b) xor d(b,c).
            Assert.That(a.DistanceTo(c), Is.EqualTo(a.DistanceTo(b).DistanceTo(b.DistanceTo(c))));
        }
    }

    [Test]
    public void Ordering_is_unsigned_big_endian()
    {
        var lo = new byte[32]; lo[31] = 0xFF;
        var hi = new byte[32]; hi[0] = 0x01;
        Assert.That(new NodeId(lo) < new NodeId(hi), Is.True);
        Assert.That(new NodeId(hi).CompareTo(new NodeId(lo)), Is.GreaterThan(0));
        var top = new byte[32]; top[0] = 0x80;
        Assert.That(new NodeId(top) > new NodeId(hi), Is.True);
    }

    [Test]
    public void Leading_zero_count_is_the_shared_prefix_length()
    {
        var rng = new Random(2);
        for (int prefix = 0; prefix < 256; prefix += 7)
        {
            var a = NodeId.Random(rng);
            var b = a.RandomWithSharedPrefix(prefix, rng);
            Assert.That(a.DistanceTo(b).LeadingZeroCount(), Is.EqualTo(prefix));
            for (int bit = 0; bit < prefix; bit++) Assert.That(b.GetBit(bit), Is.EqualTo(a.GetBit(bit)));
        }
        Assert.That(NodeId.Zero.LeadingZeroCount(), Is.EqualTo(256));
    }

    [Test]
    public void Compare_distance_picks_the_closer_id()
    {
        var target = new NodeId(new byte[32]);
        var near = new byte[32]; near[31] = 1;
        var far = new byte[32]; far[0] = 1;
        Assert.That(target.CompareDistance(new NodeId(near), new NodeId(far)), Is.LessThan(0));
    }
}
