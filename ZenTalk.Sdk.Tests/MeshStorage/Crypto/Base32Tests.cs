using System.Text;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class Base32Tests
{
    // RFC 4648 §10, in lower case and without the padding.
    [TestCase("", "")]
    [TestCase("f", "my")]
    [TestCase("fo", "mzxq")]
    [TestCase("foo", "mzxw6")]
    [TestCase("foob", "mzxw6yq")]
    [TestCase("fooba", "mzxw6ytb")]
    [TestCase("foobar", "mzxw6ytboi")]
    public void Encodes_and_decodes_the_rfc_4648_test_vectors(string data, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(data);
        var chars = new char[Base32.EncodedLength(bytes.Length)];
        Base32.Encode(bytes, chars);
        Assert.That(new string(chars), Is.EqualTo(text));

        var decoded = new byte[bytes.Length];
        Assert.That(Base32.TryDecode(text, decoded, ignoreCase: false), Is.True);
        Assert.That(decoded, Is.EqualTo(bytes));
        Assert.That(Base32.TryDecode(text.ToUpperInvariant(), decoded, ignoreCase: true), Is.True);
        Assert.That(decoded, Is.EqualTo(bytes));
    }

    [TestCase("mzxw6ytboi", 5, TestName = "Decoding refuses text longer than the bytes asked for")]
    [TestCase("mzxw6ytbo", 6, TestName = "Decoding refuses text shorter than the bytes asked for")]
    [TestCase("mzxw6ytboj", 6, TestName = "Decoding refuses nonzero unused bits (a second spelling)")]
    [TestCase("MZXW6YTBOI", 6, TestName = "Decoding refuses upper case unless told to ignore case")]
    [TestCase("mzxw6ytbo1", 6, TestName = "Decoding refuses a character outside the alphabet")]
    [TestCase("mzxw6ytbo=", 6, TestName = "Decoding refuses padding")]
    public void Decoding_refuses_text_that_is_not_canonical(string text, int bytes) =>
        Assert.That(Base32.TryDecode(text, new byte[bytes], ignoreCase: false), Is.False);
}
