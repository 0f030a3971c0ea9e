using System.Text;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

public class Crc32CTests
{
    // RFC 3720 (iSCSI) appendix B.4 and the usual check value.
    [TestCase("123456789", 0xE3069283u)]
    [TestCase("", 0x00000000u)]
    [TestCase("a", 0xC1D04330u)]
    public void Known_values_match_the_castagnoli_standard(string text, uint expected) =>
        Assert.That(Crc32C.Compute(Encoding.ASCII.GetBytes(text)), Is.EqualTo(expected));

    [Test]
    public void Rfc_3720_test_vectors_match()
    {
        Assert.That(Crc32C.Compute(new byte[32]), Is.EqualTo(0x8A9136AAu));
        Assert.That(Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()), Is.EqualTo(0x62A8AB43u));
        Assert.That(Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()), Is.EqualTo(0x46DD794Eu));
        Assert.That(Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()), Is.EqualTo(0x113FDB5Cu));
    }

    [Test]
    public void Every_single_bit_flip_changes_the_checksum_at_any_length_and_alignment()
    {
        var random = new Random(7);
        foreach (var length in new[] { 1, 7, 8, 9, 63, 513, 27_307 })
        {
            var data = new byte[length + 3];
            random.NextBytes(data);
            var span = data.AsSpan(3, length); // not 8-byte aligned
            var crc = Crc32C.Compute(span);
            for (var trial = 0; trial < 50; trial++)
            {
                var at = random.Next(length);
                var bit = (byte)(1 << random.Next(8));
                span[at] ^= bit;
                Assert.That(Crc32C.Compute(span), Is.Not.EqualTo(crc), $"length {length}, byte {at}");
                span[at] ^= bit;
            }
        }
    }
}
