using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class OwnerKeyTests
{
    // One 2048-bit key for the fixture: RSA generation dominates these tests' time.
    private static readonly Lazy<OwnerKey> Shared = new(() => OwnerKey.Create(2048));

    [Test]
    public void Signature_verifies_with_the_public_key()
    {
        var signature = Shared.Value.Sign("data"u8);
        Assert.That(Shared.Value.PublicKey.Verify("data"u8, signature), Is.True);
    }

    [Test]
    public void Signature_over_other_data_does_not_verify()
    {
        var signature = Shared.Value.Sign("data"u8);
        Assert.That(Shared.Value.PublicKey.Verify("date"u8, signature), Is.False);
        signature[10] ^= 1;
        Assert.That(Shared.Value.PublicKey.Verify("data"u8, signature), Is.False);
    }

    [Test]
    public void Signature_of_another_key_does_not_verify()
    {
        using var other = OwnerKey.Create(2048);
        Assert.That(Shared.Value.PublicKey.Verify("data"u8, other.Sign("data"u8)), Is.False);
    }

    [Test]
    public void Private_key_round_trips_through_pkcs8_pem()
    {
        var pem = Shared.Value.ExportPrivateKeyPem();
        Assert.That(pem, Does.StartWith("-----BEGIN PRIVATE KEY-----"));
        using var back = OwnerKey.ImportPem(pem);
        Assert.That(back.PublicKey, Is.EqualTo(Shared.Value.PublicKey));
        Assert.That(Shared.Value.PublicKey.Verify("x"u8, back.Sign("x"u8)), Is.True);
    }

    [Test]
    public void Public_key_round_trips_through_spki_pem_and_keeps_its_id()
    {
        var pem = Shared.Value.PublicKey.ExportPem();
        Assert.That(pem, Does.StartWith("-----BEGIN PUBLIC KEY-----"));
        var back = OwnerPublicKey.ImportPem(pem);
        Assert.That(back, Is.EqualTo(Shared.Value.PublicKey));
        Assert.That(back.Id, Is.EqualTo(Shared.Value.PublicKey.Id).And.Length.EqualTo(64));
    }

    [Test]
    public void Keys_below_2048_bits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnerKey.Create(1024));
        using var small = System.Security.Cryptography.RSA.Create(1024);
        var ex = Assert.Throws<ArgumentException>(() => OwnerKey.ImportPem(small.ExportPkcs8PrivateKeyPem()));
        Assert.That(ex!.ParamName, Is.EqualTo("pem"));
        Assert.Throws<ArgumentException>(() => OwnerPublicKey.ImportPem(small.ExportSubjectPublicKeyInfoPem()));
    }

    [Test]
    public void Public_key_pem_is_not_accepted_as_a_private_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => OwnerKey.ImportPem(Shared.Value.PublicKey.ExportPem()));
        Assert.That(ex!.ParamName, Is.EqualTo("pem"));
        Assert.Throws<ArgumentException>(() => OwnerKey.ImportPem("not a pem"));
    }

    [Test]
    public void A_parsed_public_key_verifies_from_many_threads_at_once_and_still_refuses_bad_signatures()
    {
        var key = Shared.Value;
        // Parsed twice from the same bytes: the second parse is the cached key, and both must behave alike.
        var first = OwnerPublicKey.FromSubjectPublicKeyInfo(key.PublicKey.SubjectPublicKeyInfo);
        var second = OwnerPublicKey.FromSubjectPublicKeyInfo(key.PublicKey.SubjectPublicKeyInfo);
        Assert.That(second, Is.EqualTo(first));
        var messages = Enumerable.Range(0, 16).Select(i => BitConverter.GetBytes(i)).ToArray();
        var signatures = messages.Select(m => key.Sign(m)).ToArray();
        var outcomes = new bool[messages.Length * 2];
        Parallel.For(0, outcomes.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int m = i / 2;
            var signature = (byte[])signatures[m].Clone();
            if (i % 2 == 1) signature[^1] ^= 1;
            outcomes[i] = (i % 4 < 2 ? first : second).Verify(messages[m], signature);
        });
        for (int i = 0; i < outcomes.Length; i++)
            Assert.That(outcomes[i], Is.EqualTo(i % 2 == 0), $"call {i}");
    }

    [Test]
    public void Default_key_size_is_3072_bits()
    {
        using var key = OwnerKey.Create();
        Assert.That(key.PublicKey.KeySizeInBits, Is.EqualTo(3072));
        Assert.That(key.ToString(), Does.Not.Contain("PRIVATE"));
    }
}
