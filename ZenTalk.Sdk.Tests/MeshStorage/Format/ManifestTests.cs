using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Format.Proto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Format;

public class ManifestTests
{
    private static readonly Lazy<OwnerKey> Owner = new(() => OwnerKey.Generate(2048));
    private static readonly Lazy<OwnerKey> Attacker = new(() => OwnerKey.Generate(2048));
    private static readonly Lazy<OwnerKey> EcdsaOwner = new(() => OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256));
    private static readonly Lazy<OwnerKey> EcdsaAttacker = new(() => OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256));

    private static OwnerKey OwnerOf(OwnerKeyAlgorithm algorithm) => algorithm == OwnerKeyAlgorithm.Rsa ? Owner.Value : EcdsaOwner.Value;

    private static OwnerKey AttackerOf(OwnerKeyAlgorithm algorithm) => algorithm == OwnerKeyAlgorithm.Rsa ? Attacker.Value : EcdsaAttacker.Value;

    internal static ManifestBody Body(OwnerKey owner, long size = 10_000, int segmentSize = 4096, int k = 10, int m = 5)
    {
        var body = new ManifestBody
        {
            FormatVersion = 1,
            PlaintextSize = (ulong)size,
            SegmentSize = (uint)segmentSize,
            DataShards = (uint)k,
            ParityShards = (uint)m,
            Cipher = new CipherParameters { Algorithm = 1, Salt = ByteString.CopyFrom(new byte[16]), TagSize = 16 },
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            CreatedUnixMs = 1_767_225_600_000,
        };
        for (var i = 0; i < Manifest.SegmentCountFor(size, segmentSize); i++)
        {
            body.Segments.Add(new SegmentEntry
            {
                ShardSize = (uint)Manifest.ShardSizeFor(Manifest.SegmentPlaintextLength(size, segmentSize, i), k),
                ShardHashes = ByteString.CopyFrom(RandomNumberGenerator.GetBytes((k + m) * 32)),
            });
        }

        return body;
    }

    private static byte[] Wrap(ManifestBody body, OwnerKey signer) => Wrap(body.ToByteArray(), signer);

    private static byte[] Wrap(byte[] bodyBytes, OwnerKey signer) => new SignedManifest
    {
        Body = ByteString.CopyFrom(bodyBytes),
        Signature = ByteString.CopyFrom(signer.Sign(Manifest.SignedPayload(bodyBytes))),
    }.ToByteArray();

    [Test]
    public void Signed_manifest_opens_by_its_cid_with_every_field_intact([Values] OwnerKeyAlgorithm algorithm)
    {
        var owner = OwnerOf(algorithm);
        var body = Body(owner);
        body.ExpiresUnixMs = 1_800_000_000_000;
        var manifest = Manifest.Sign(body, owner);
        var opened = Manifest.Open(manifest.Bytes.ToArray(), manifest.Cid);
        Assert.That(opened.Cid, Is.EqualTo(Cid.Compute(manifest.Bytes.Span)));
        Assert.That(opened.PlaintextSize, Is.EqualTo(10_000));
        Assert.That(opened.SegmentCount, Is.EqualTo(3));
        Assert.That(opened.SegmentSize, Is.EqualTo(4096));
        Assert.That((opened.DataShards, opened.ParityShards), Is.EqualTo((10, 5)));
        Assert.That(opened.Owner, Is.EqualTo(owner.PublicKey));
        Assert.That(opened.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000)));
        Assert.That(opened.ShardSize(2), Is.EqualTo((10_000 - 8192 + 16 + 9) / 10));
        for (var s = 0; s < 15; s++)
        {
            Assert.That(opened.ShardHash(1, s).ToArray(), Is.EqualTo(body.Segments[1].ShardHashes.Span.Slice(s * 32, 32).ToArray()));
        }
    }

    [Test]
    public void Serialization_is_canonical_and_pinned_to_the_documented_wire_form()
    {
        var body = new ManifestBody
        {
            FormatVersion = 1,
            PlaintextSize = 300,
            SegmentSize = 4096,
            DataShards = 2,
            ParityShards = 1,
            Cipher = new CipherParameters { Algorithm = 1, Salt = ByteString.CopyFrom(new byte[16]), TagSize = 16 },
            CreatedUnixMs = 1,
        };
        body.Segments.Add(new SegmentEntry { ShardSize = 158, ShardHashes = ByteString.CopyFrom(new byte[96]) });
        body.OwnerPublicKey = ByteString.CopyFrom([0xAB]);
        // Hand-encoded: fields in number order, defaults (expires = 0) omitted, lengths as varints.
        var expected = Convert.FromHexString(
            "0801" + "10ac02" + "188020" + "2002" + "2801" +
            "3216" + "0801" + "1210" + new string('0', 32) + "1810" +
            "3a" + "65" + "089e01" + "1260" + new string('0', 192) +
            "4201ab" + "4801");
        Assert.That(body.ToByteArray(), Is.EqualTo(expected));
        Assert.That(body.Clone().ToByteArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Two_signatures_of_the_same_body_carry_the_same_body_bytes([Values] OwnerKeyAlgorithm algorithm)
    {
        var owner = OwnerOf(algorithm);
        var body = Body(owner);
        var a = SignedManifest.Parser.ParseFrom(Manifest.Sign(body, owner).Bytes.Span);
        var b = SignedManifest.Parser.ParseFrom(Manifest.Sign(body, owner).Bytes.Span);
        Assert.That(a.Body, Is.EqualTo(b.Body));
    }

    [Test]
    public void Bytes_that_do_not_hash_to_the_cid_are_refused()
    {
        var manifest = Manifest.Sign(Body(Owner.Value), Owner.Value);
        var other = Manifest.Sign(Body(Owner.Value), Owner.Value);
        Assert.Throws<IntegrityException>(() => Manifest.Open(other.Bytes, manifest.Cid));
    }

    [Test]
    public void Changed_body_under_the_original_signature_is_refused([Values] OwnerKeyAlgorithm algorithm)
    {
        var owner = OwnerOf(algorithm);
        var manifest = Manifest.Sign(Body(owner), owner);
        var signed = SignedManifest.Parser.ParseFrom(manifest.Bytes.Span);
        var body = ManifestBody.Parser.ParseFrom(signed.Body);
        body.ExpiresUnixMs = 4_000_000_000_000;
        signed.Body = body.ToByteString();
        var ex = Assert.Throws<IntegrityException>(() => Manifest.Open(signed.ToByteArray()));
        Assert.That(ex!.Message, Does.Contain("signature"));
    }

    [Test]
    public void Flipped_signature_bit_is_refused([Values] OwnerKeyAlgorithm algorithm)
    {
        var owner = OwnerOf(algorithm);
        var signed = SignedManifest.Parser.ParseFrom(Manifest.Sign(Body(owner), owner).Bytes.Span);
        var sig = signed.Signature.ToByteArray();
        sig[^1] ^= 1;
        signed.Signature = ByteString.CopyFrom(sig);
        Assert.Throws<IntegrityException>(() => Manifest.Open(signed.ToByteArray()));
    }

    [Test]
    public void Manifest_claiming_the_owner_but_signed_by_another_key_is_refused([Values] OwnerKeyAlgorithm ownerKind, [Values] OwnerKeyAlgorithm attackerKind)
    {
        var forged = Wrap(Body(OwnerOf(ownerKind)), AttackerOf(attackerKind));
        Assert.Throws<IntegrityException>(() => Manifest.Open(forged));
        Assert.Throws<IntegrityException>(() => Manifest.Open(forged, Cid.Compute(forged)));
    }

    [Test]
    public void Attacker_re_signing_with_their_own_key_gets_a_different_cid([Values] OwnerKeyAlgorithm ownerKind, [Values] OwnerKeyAlgorithm attackerKind)
    {
        var attacker = AttackerOf(attackerKind);
        var original = Manifest.Sign(Body(OwnerOf(ownerKind)), OwnerOf(ownerKind));
        var body = ManifestBody.Parser.ParseFrom(SignedManifest.Parser.ParseFrom(original.Bytes.Span).Body);
        body.OwnerPublicKey = ByteString.CopyFrom(attacker.PublicKey.SubjectPublicKeyInfo);
        var forged = Wrap(body, attacker);
        Assert.That(Manifest.Open(forged).Owner, Is.EqualTo(attacker.PublicKey));
        Assert.Throws<IntegrityException>(() => Manifest.Open(forged, original.Cid));
    }

    [Test]
    public void Signature_made_for_another_purpose_does_not_verify_as_a_manifest([Values] OwnerKeyAlgorithm algorithm)
    {
        var owner = OwnerOf(algorithm);
        var bodyBytes = Body(owner).ToByteArray();
        var signed = new SignedManifest
        {
            Body = ByteString.CopyFrom(bodyBytes),
            Signature = ByteString.CopyFrom(owner.Sign(bodyBytes)), // no manifest domain prefix
        };
        Assert.Throws<IntegrityException>(() => Manifest.Open(signed.ToByteArray()));
    }

    [Test]
    public void Non_canonical_encodings_are_refused()
    {
        var manifest = Manifest.Sign(Body(Owner.Value), Owner.Value);
        // An unknown field appended to the envelope.
        byte[] extended = [.. manifest.Bytes.ToArray(), 0x18, 0x01];
        Assert.Throws<IntegrityException>(() => Manifest.Open(extended));
        // An unknown field inside the signed body (validly signed).
        var bodyBytes = SignedManifest.Parser.ParseFrom(manifest.Bytes.Span).Body.ToByteArray();
        Assert.Throws<IntegrityException>(() => Manifest.Open(Wrap([.. bodyBytes, 0xF8, 0x01, 0x01], Owner.Value)));
        // A default value written explicitly (expires_unix_ms = 0).
        Assert.Throws<IntegrityException>(() => Manifest.Open(Wrap([.. bodyBytes, 0x50, 0x00], Owner.Value)));
    }

    [Test]
    public void Validly_signed_manifests_that_break_format_rules_are_refused()
    {
        var cases = new List<Action<ManifestBody>>
        {
            b => b.FormatVersion = 2,
            b => b.Segments.RemoveAt(0),
            b => b.Segments.Add(b.Segments[0].Clone()),
            b => b.Segments[0].ShardHashes = ByteString.CopyFrom(new byte[31]),
            b => b.Segments[1].ShardSize++,
            b => b.DataShards = 0,
            b => b.ParityShards = 0,
            b => b.ParityShards = 250,
            b => b.SegmentSize = 100,
            b => b.Cipher.Salt = ByteString.CopyFrom(new byte[8]),
            b => b.Cipher.Algorithm = 2,
            b => b.Cipher = null,
            b => b.PlaintextSize = ulong.MaxValue,
            b => b.PlaintextSize = 1UL << 61,
            // The bounds the implementation honours (docs/formats.md section 2): k + m <= 20, shards that fit one frame,
            // at most 65,536 segments.
            b => (b.DataShards, b.ParityShards) = (1, 31),
            b => (b.DataShards, b.ParityShards) = (15, 6),
            b => (b.SegmentSize, b.DataShards, b.ParityShards) = (64 * 1024 * 1024, 10, 5),
            b => (b.SegmentSize, b.DataShards, b.ParityShards) = ((uint)Manifest.MaxShardSize, 1, 1),
            b => b.PlaintextSize = (ulong)Manifest.MaxSegmentCount * 4096 + 1,
        };
        foreach (var breakIt in cases)
        {
            var body = Body(Owner.Value);
            breakIt(body);
            Assert.Throws<IntegrityException>(() => Manifest.Open(Wrap(body, Owner.Value)));
            Assert.Throws<ArgumentException>(() => Manifest.Sign(body, Owner.Value));
        }
    }

    [Test]
    public void The_largest_manifests_within_the_bounds_open_and_a_larger_one_is_refused_before_parsing()
    {
        // The biggest shards one frame carries, 20 of them: 79 MiB of buffer per segment, the most any manifest asks.
        var widest = Body(Owner.Value, size: Manifest.MaxShardSize - 16, segmentSize: Manifest.MaxShardSize - 16, k: 1, m: 19);
        var opened = Manifest.Open(Wrap(widest, Owner.Value));
        Assert.That(opened.SegmentBufferSize, Is.EqualTo(20 * Manifest.MaxShardSize));
        Assert.That(new ZenTalk.MeshStorage.Rpc.RpcOptions().MaxShardSize, Is.EqualTo(Manifest.MaxShardSize), "a shard fits one frame of the RPC layer");

        var tooLong = new byte[Manifest.MaxBytes + 1];
        var e = Assert.Throws<IntegrityException>(() => Manifest.Open(tooLong));
        Assert.That(e!.Message, Does.Contain("at most"));
    }

    [Test]
    public void Garbage_and_truncations_are_integrity_errors_only()
    {
        var bytes = Manifest.Sign(Body(Owner.Value), Owner.Value).Bytes.ToArray();
        var random = new Random(11);
        for (var i = 0; i < 300; i++)
        {
            byte[] input = (i % 3) switch
            {
                0 => bytes[..random.Next(bytes.Length)],
                1 => RandomNumberGenerator.GetBytes(random.Next(0, 600)),
                _ => Mutate(bytes, random),
            };
            Assert.Throws<IntegrityException>(() => Manifest.Open(input));
        }
    }

    private static byte[] Mutate(byte[] bytes, Random random)
    {
        var copy = (byte[])bytes.Clone();
        copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    [Test]
    public void Signing_with_a_key_that_is_not_the_named_owner_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => Manifest.Sign(Body(Owner.Value), Attacker.Value));
        Assert.Throws<ArgumentException>(() => Manifest.Sign(Body(Owner.Value), EcdsaOwner.Value));
        Assert.Throws<ArgumentException>(() => Manifest.Sign(Body(EcdsaOwner.Value), EcdsaAttacker.Value));
    }

    [Test]
    public void An_ecdsa_manifest_carries_a_64_byte_signature_and_its_key_type_in_the_key_alone()
    {
        var manifest = Manifest.Sign(Body(EcdsaOwner.Value), EcdsaOwner.Value);
        var signed = SignedManifest.Parser.ParseFrom(manifest.Bytes.Span);
        Assert.That(signed.Signature.Length, Is.EqualTo(64));
        var opened = Manifest.Open(manifest.Bytes, manifest.Cid);
        Assert.That(opened.Owner.Algorithm, Is.EqualTo(OwnerKeyAlgorithm.EcdsaP256));
        Assert.That(opened.Owner.KeySizeInBits, Is.EqualTo(256));
        // The same body bytes with an RSA-length signature, or an ECDSA signature in DER form, are refused.
        var der = new SignedManifest { Body = signed.Body, Signature = ByteString.CopyFrom(ConvertToDer(signed.Signature.ToByteArray())) };
        Assert.Throws<IntegrityException>(() => Manifest.Open(der.ToByteArray()));
        Assert.Throws<IntegrityException>(() => Manifest.Open(new SignedManifest { Body = signed.Body, Signature = ByteString.CopyFrom(new byte[256]) }.ToByteArray()));
    }

    /// <summary>An IEEE P1363 (r ‖ s) ECDSA signature re-encoded as a DER SEQUENCE of two INTEGERs.</summary>
    /// <remarks>
    /// P1363 pads r and s to 32 bytes; DER's minimal encoding refuses a leading zero byte (about one signature in
    /// 128 has one), so the padding is trimmed first.
    /// </remarks>
    private static byte[] ConvertToDer(byte[] p1363)
    {
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteIntegerUnsigned(p1363.AsSpan(0, 32).TrimStart((byte)0));
            writer.WriteIntegerUnsigned(p1363.AsSpan(32, 32).TrimStart((byte)0));
        }

        return writer.Encode();
    }
}
