using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.MeshStorage.Format;

public class CidTests
{
    [Test]
    public void Text_form_round_trips_and_is_57_lower_case_url_safe_characters()
    {
        var cid = Cid.Compute("manifest"u8);
        var text = cid.ToString();
        Assert.That(text, Has.Length.EqualTo(57));
        Assert.That(text, Does.Match("^zt[a-z2-7]{55}$"));
        Assert.That(Cid.Parse(text), Is.EqualTo(cid));
    }

    [Test]
    public void Known_answer_pins_the_text_form()
    {
        // SHA-256("") = e3b0c442...; version 0x01 and hash id 0x12 lead the base32 payload.
        var cid = Cid.Compute(ReadOnlySpan<byte>.Empty);
        Assert.That(cid.ToString(), Is.EqualTo("zt" + Base32(new byte[] { 0x01, 0x12 }.Concat(Convert.FromHexString(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).ToArray())));
        Assert.That(cid.ToString(), Is.EqualTo("ztaejohmgeikmpyhautl57jsezn64sij5oihsgjg4tjssjlgi3pbjlqvi"));
    }

    [Test]
    public void Digest_is_the_sha256_of_the_manifest_bytes()
    {
        var digest = new byte[32];
        Cid.Compute("abc"u8).CopyDigestTo(digest);
        Assert.That(digest, Is.EqualTo(System.Security.Cryptography.SHA256.HashData("abc"u8)));
    }

    [Test]
    public void Malformed_texts_are_rejected()
    {
        var good = Cid.Compute("x"u8).ToString();
        string[] bad =
        [
            "", "zt", good[..^1], good + "a", good.ToUpperInvariant(), "ZT" + good[2..], "zu" + good[2..],
            good[..10] + "1" + good[11..], good[..10] + "=" + good[11..], " " + good[1..],
            "zt" + Base32([0x02, 0x12, .. new byte[32]]), // unknown version
            "zt" + Base32([0x01, 0x13, .. new byte[32]]), // unknown hash
        ];
        foreach (var text in bad)
        {
            Assert.That(Cid.TryParse(text, out _), Is.False, text);
            Assert.Throws<FormatException>(() => Cid.Parse(text), text);
        }

        // Non-zero padding bits in the last character would give a second spelling of the same CID.
        var last = good[^1];
        var tweaked = good[..^1] + (char)(last == 'z' ? 'y' : last + 1);
        Assert.That(Cid.TryParse(tweaked, out var t) && t == Cid.Parse(good), Is.False);
        Assert.That(Cid.TryParse((string?)null, out _), Is.False);
        Assert.Throws<ArgumentNullException>(() => Cid.Parse(null!));
    }

    [Test]
    public void Random_strings_never_throw_anything_but_format_exception()
    {
        var random = new Random(4242);
        const string chars = "abcdefghijklmnopqrstuvwxyz234567ABCZ0189=+/-_ \0\u00e9\ud800";
        for (var i = 0; i < 20_000; i++)
        {
            var length = i % 3 == 0 ? 57 : random.Next(0, 80);
            var text = new string(Enumerable.Range(0, length).Select(_ => chars[random.Next(chars.Length)]).ToArray());
            if (i % 2 == 0 && length >= 2)
            {
                text = "zt" + text[2..];
            }

            try
            {
                var cid = Cid.Parse(text);
                Assert.That(cid.ToString(), Is.EqualTo(text), "a parsed CID must print back identically");
            }
            catch (FormatException)
            {
            }
        }
    }

    [Test]
    public void Mutated_valid_cids_parse_only_to_their_own_spelling()
    {
        var random = new Random(7);
        var good = Cid.Compute("seed"u8).ToString().ToCharArray();
        for (var i = 0; i < 5_000; i++)
        {
            var copy = (char[])good.Clone();
            copy[random.Next(copy.Length)] = (char)random.Next(32, 127);
            var text = new string(copy);
            if (Cid.TryParse(text, out var cid))
            {
                Assert.That(cid.ToString(), Is.EqualTo(text));
            }
        }
    }

    private static string Base32(byte[] data)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var sb = new System.Text.StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                sb.Append(alphabet[(buffer >> bits) & 31]);
            }
        }

        if (bits > 0)
        {
            sb.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }

        return sb.ToString();
    }
}
