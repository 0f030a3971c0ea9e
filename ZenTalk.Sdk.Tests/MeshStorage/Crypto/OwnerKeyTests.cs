using System.Formats.Asn1;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class OwnerKeyTests
{
    // One 2048-bit key for the fixture: RSA generation dominates these tests' time.
    private static readonly Lazy<OwnerKey> Shared = new(() => OwnerKey.Generate(2048));
    private static readonly Lazy<OwnerKey> SharedEcdsa = new(() => OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256));

    private static OwnerKey Of(OwnerKeyAlgorithm algorithm) => algorithm == OwnerKeyAlgorithm.Rsa ? Shared.Value : SharedEcdsa.Value;

    [Test]
    public void Signature_verifies_with_the_public_key([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm);
        var signature = key.Sign("data"u8);
        Assert.That(key.PublicKey.Verify("data"u8, signature), Is.True);
    }

    [Test]
    public void Signature_over_other_data_does_not_verify([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm);
        var signature = key.Sign("data"u8);
        Assert.That(key.PublicKey.Verify("date"u8, signature), Is.False);
        signature[10] ^= 1;
        Assert.That(key.PublicKey.Verify("data"u8, signature), Is.False);
    }

    [Test]
    public void Signature_of_another_key_does_not_verify([Values] OwnerKeyAlgorithm verifier, [Values] OwnerKeyAlgorithm signer)
    {
        using var other = signer == OwnerKeyAlgorithm.Rsa ? OwnerKey.Generate(2048) : OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256);
        Assert.That(Of(verifier).PublicKey.Verify("data"u8, other.Sign("data"u8)), Is.False);
    }

    [Test]
    public void Each_kind_signs_with_its_own_scheme_and_signature_length()
    {
        Assert.That(Shared.Value.Algorithm, Is.EqualTo(OwnerKeyAlgorithm.Rsa));
        Assert.That(Shared.Value.Sign("x"u8), Has.Length.EqualTo(256));
        var ecdsa = SharedEcdsa.Value;
        Assert.That(ecdsa.Algorithm, Is.EqualTo(OwnerKeyAlgorithm.EcdsaP256));
        Assert.That(ecdsa.PublicKey.KeySizeInBits, Is.EqualTo(256));
        var signature = ecdsa.Sign("x"u8);
        Assert.That(signature, Has.Length.EqualTo(64), "IEEE P1363 r || s");
        using var bcl = ECDsa.Create();
        bcl.ImportSubjectPublicKeyInfo(ecdsa.PublicKey.SubjectPublicKeyInfo, out _);
        Assert.That(bcl.VerifyData("x"u8, signature, HashAlgorithmName.SHA256), Is.True, "plain ECDSA P-256 / SHA-256");
        Assert.That(ecdsa.ToString(), Does.Contain("ECDSA P-256").And.Not.Contain("PRIVATE"));
        Assert.That(OwnerKey.Generate(OwnerKeyAlgorithm.Rsa).PublicKey.KeySizeInBits, Is.EqualTo(3072));
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnerKey.Generate((OwnerKeyAlgorithm)7));
    }

    [Test]
    public void Rsa_keys_above_4096_bits_are_not_made()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnerKey.Generate(4104));
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnerKey.Generate(8192));
    }

    private static IEnumerable<TestCaseData> KeysOutsideThePolicy()
    {
        static byte[] Odd(int bits)
        {
            var b = RandomNumberGenerator.GetBytes(bits / 8);
            b[0] |= 0x80;
            b[^1] |= 1;
            return b;
        }

        yield return new TestCaseData(BogusOwnerKey.RsaSpki(Odd(4104), BogusOwnerKey.F4), "bytes long").SetArgDisplayNames("RSA-4104");
        yield return new TestCaseData(BogusOwnerKey.RsaSpki(Odd(4096), [0x01, 0x00, 0x00, 0x01]), "exponent").SetArgDisplayNames("RSA-4096 e=2^24+1");
        yield return new TestCaseData(BogusOwnerKey.RsaSpki(Odd(2048), [3]), "exponent").SetArgDisplayNames("RSA-2048 e=3");
        yield return new TestCaseData(BogusOwnerKey.RsaSpki(Odd(2040), BogusOwnerKey.F4), "2040 bits").SetArgDisplayNames("RSA-2040");
        var even = Odd(3072);
        even[^1] &= 0xFE;
        yield return new TestCaseData(BogusOwnerKey.RsaSpki(even, BogusOwnerKey.F4), "even").SetArgDisplayNames("even modulus");
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        yield return new TestCaseData(p384.ExportSubjectPublicKeyInfo(), "P-256").SetArgDisplayNames("ECDSA P-384");
        var p256 = SharedEcdsa.Value.PublicKey.SubjectPublicKeyInfo.ToArray();
        var compressed = p256[..^32];
        compressed[^33] = (byte)(0x02 | (p256[^1] & 1));
        compressed[1] -= 32;
        compressed[^35] -= 32; // the BIT STRING's length
        yield return new TestCaseData(compressed, "uncompressed").SetArgDisplayNames("compressed P-256 point");
        yield return new TestCaseData((byte[])[.. p256, 0x00], "trailing").SetArgDisplayNames("trailing byte");
        var longForm = new List<byte> { 0x30, 0x81, (byte)(p256.Length - 2) };
        longForm.AddRange(p256[2..]);
        yield return new TestCaseData(longForm.ToArray(), "DER").SetArgDisplayNames("BER long-form length");
        var dsa = new AsnWriter(AsnEncodingRules.DER);
        using (dsa.PushSequence())
        {
            using (dsa.PushSequence()) dsa.WriteObjectIdentifier("1.3.101.112"); // Ed25519
            dsa.WriteBitString(new byte[32]);
        }

        yield return new TestCaseData(dsa.Encode(), "1.3.101.112").SetArgDisplayNames("Ed25519");
        yield return new TestCaseData(Array.Empty<byte>(), "empty").SetArgDisplayNames("empty");
        yield return new TestCaseData(new byte[551], "551 bytes").SetArgDisplayNames("551 zero bytes");
    }

    [TestCaseSource(nameof(KeysOutsideThePolicy))]
    public void Public_keys_outside_the_policy_are_refused_wherever_they_arrive(byte[] spki, string why)
    {
        var e = Assert.Throws<IntegrityException>(() => OwnerPublicKey.FromSubjectPublicKeyInfo(spki));
        Assert.That(e!.Message, Does.Contain("owner public key is refused").And.Contain(why));
        var pem = PemEncoding.WriteString("PUBLIC KEY", spki);
        Assert.That(Assert.Throws<ArgumentException>(() => OwnerPublicKey.ImportPem(pem))!.ParamName, Is.EqualTo("pem"));
    }

    [Test]
    public void A_key_read_from_its_bytes_has_the_same_kind_and_id([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm).PublicKey;
        var read = OwnerPublicKey.FromSubjectPublicKeyInfo(key.SubjectPublicKeyInfo);
        Assert.That((read.Algorithm, read.Id, read.KeySizeInBits), Is.EqualTo((algorithm, key.Id, key.KeySizeInBits)));
    }

    [Test]
    public void A_p256_point_off_the_curve_is_refused()
    {
        var spki = SharedEcdsa.Value.PublicKey.SubjectPublicKeyInfo.ToArray();
        spki[^1] ^= 1; // y no longer matches x
        Assert.Throws<IntegrityException>(() => OwnerPublicKey.FromSubjectPublicKeyInfo(spki));
    }

    [Test]
    public void Private_keys_outside_the_policy_are_refused_on_import()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var e = Assert.Throws<ArgumentException>(() => OwnerKey.ImportPem(p384.ExportPkcs8PrivateKeyPem()));
        Assert.That(e!.ParamName, Is.EqualTo("pem"));
        Assert.That(e.Message, Does.Contain("P-256"));
        using var dsa = DSA.Create(2048);
        Assert.Throws<ArgumentException>(() => OwnerKey.ImportPem(dsa.ExportPkcs8PrivateKeyPem()));
    }

    [Test]
    public void Private_key_round_trips_through_pkcs8_pem([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm);
        var pem = key.ExportPrivateKeyPem();
        Assert.That(pem, Does.StartWith("-----BEGIN PRIVATE KEY-----"));
        using var back = OwnerKey.ImportPem(pem);
        Assert.That(back.PublicKey, Is.EqualTo(key.PublicKey));
        Assert.That(key.PublicKey.Verify("x"u8, back.Sign("x"u8)), Is.True);
    }

    [Test]
    public void Public_key_round_trips_through_spki_pem_and_keeps_its_id([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm);
        var pem = key.PublicKey.ExportPem();
        Assert.That(pem, Does.StartWith("-----BEGIN PUBLIC KEY-----"));
        var back = OwnerPublicKey.ImportPem(pem);
        Assert.That(back, Is.EqualTo(key.PublicKey));
        Assert.That(back.Id, Is.EqualTo(key.PublicKey.Id).And.Length.EqualTo(64));
    }

    [Test]
    public void Keys_below_2048_bits_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OwnerKey.Generate(1024));
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
    public void A_parsed_public_key_verifies_from_many_threads_at_once_and_still_refuses_bad_signatures([Values] OwnerKeyAlgorithm algorithm)
    {
        var key = Of(algorithm);
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
        using var key = OwnerKey.Generate();
        Assert.That(key.PublicKey.KeySizeInBits, Is.EqualTo(3072));
        Assert.That(key.ToString(), Does.Not.Contain("PRIVATE"));
    }
}
