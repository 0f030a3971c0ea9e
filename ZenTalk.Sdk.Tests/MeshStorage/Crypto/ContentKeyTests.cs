using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class ContentKeyTests
{
    [Test]
    public void Base64url_export_round_trips()
    {
        var key = ContentKey.Generate();
        var text = key.ExportBase64Url();
        Assert.That(text, Has.Length.EqualTo(43));
        Assert.That(ContentKey.ImportBase64Url(text), Is.EqualTo(key));
    }

    [Test]
    public void Two_generated_keys_differ()
    {
        var a = ContentKey.Generate();
        var b = ContentKey.Generate();
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [Test]
    public void ToString_does_not_reveal_the_key()
    {
        var key = ContentKey.Generate();
        var text = key.ToString();
        Assert.That(text, Does.Not.Contain(key.ExportBase64Url()));
        Assert.That(text, Is.EqualTo("ContentKey(redacted)"));
    }

    [TestCase("")]
    [TestCase("short")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!")]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")] // non-canonical trailing bits
    public void Malformed_text_is_a_format_error(string text)
    {
        Assert.Throws<FormatException>(() => ContentKey.ImportBase64Url(text));
        Assert.That(ContentKey.TryImportBase64Url(text, out var key), Is.False);
        Assert.That(key, Is.Null);
    }

    [Test]
    public void TryImport_reads_an_exported_key_and_refuses_null()
    {
        var key = ContentKey.Generate();
        Assert.That(ContentKey.TryImportBase64Url(key.ExportBase64Url(), out var back), Is.True);
        Assert.That(back, Is.EqualTo(key));
        Assert.That(ContentKey.TryImportBase64Url(null, out _), Is.False);
    }

    [Test]
    public void Null_text_is_an_argument_error()
    {
        Assert.Throws<ArgumentNullException>(() => ContentKey.ImportBase64Url(null!));
    }
}
