using System.Formats.Asn1;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Distributed.Proto;
using ZenTalk.MeshStorage.Format.Proto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// An RSA public key an attacker makes up without generating any prime: a random odd modulus of any size and any
/// exponent, as DER SubjectPublicKeyInfo. Checking a signature against it costs the checker a modular exponentiation
/// whose price the attacker picks (a 16,384-bit modulus, or a 3,072-bit exponent), and the signature "fails" only after
/// that. <see cref="Signature"/> is random bytes below the modulus, so the exponentiation really runs.
/// </summary>
internal sealed class BogusOwnerKey
{
    private BogusOwnerKey(string name, byte[] spki, int modulusBytes)
    {
        Name = name;
        SubjectPublicKeyInfo = spki;
        ModulusBytes = modulusBytes;
    }

    public string Name { get; }

    public byte[] SubjectPublicKeyInfo { get; }

    public int ModulusBytes { get; }

    public static BogusOwnerKey Rsa(string name, int modulusBits, byte[] exponent)
    {
        var modulus = RandomNumberGenerator.GetBytes(modulusBits / 8);
        modulus[0] |= 0x80;
        modulus[^1] |= 1;
        return new BogusOwnerKey(name, RsaSpki(modulus, exponent), modulus.Length);
    }

    /// <summary>
    /// A random odd exponent of <paramref name="bits"/> bits less one, so that it stays below a modulus of
    /// <paramref name="bits"/> bits (OpenSSL refuses an exponent above the modulus before it computes anything).
    /// </summary>
    public static byte[] LargeExponent(int bits)
    {
        var e = RandomNumberGenerator.GetBytes(bits / 8);
        e[0] = (byte)((e[0] & 0x3F) | 0x40);
        e[^1] |= 1;
        return e;
    }

    public static byte[] F4 => [0x01, 0x00, 0x01];

    public static byte[] RsaSpki(byte[] modulus, byte[] exponent)
    {
        var key = new AsnWriter(AsnEncodingRules.DER);
        using (key.PushSequence())
        {
            key.WriteIntegerUnsigned(modulus);
            key.WriteIntegerUnsigned(exponent);
        }

        var spki = new AsnWriter(AsnEncodingRules.DER);
        using (spki.PushSequence())
        {
            using (spki.PushSequence())
            {
                spki.WriteObjectIdentifier("1.2.840.113549.1.1.1");
                spki.WriteNull();
            }

            spki.WriteBitString(key.Encode());
        }

        return spki.Encode();
    }

    /// <summary>A signature of the right length whose value is below the modulus (so it is not refused for its size).</summary>
    public byte[] Signature()
    {
        var s = RandomNumberGenerator.GetBytes(ModulusBytes);
        s[0] = 0x01;
        return s;
    }

    public DeleteShardsRequest Delete(NodeId holder, DateTimeOffset now)
    {
        var request = new DeleteShardsRequest
        {
            NodeId = ByteString.CopyFrom(holder.ToByteArray()),
            OwnerPublicKey = ByteString.CopyFrom(SubjectPublicKeyInfo),
            TimestampUnixMs = now.ToUnixTimeMilliseconds(),
            Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)),
            Signature = ByteString.CopyFrom(Signature()),
        };
        request.ShardHashes.Add(ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)));
        return request;
    }

    /// <summary>A tombstone record "signed" with this key, carrying (as tombstones must) a manifest this key "owns".</summary>
    public ValueRecord Tombstone(DateTimeOffset deletedAt)
    {
        var manifest = Manifest(deletedAt);
        return new ValueRecord
        {
            Key = manifest.Key,
            Kind = RecordKind.Signed,
            Name = ByteString.CopyFromUtf8("t"),
            Type = FileRecords.Type,
            Value = new Tombstone
            {
                CidDigest = manifest.Key,
                OwnerPublicKey = ByteString.CopyFrom(SubjectPublicKeyInfo),
                DeletedUnixMs = deletedAt.ToUnixTimeMilliseconds(),
                Signature = ByteString.CopyFrom(Signature()),
                Manifest = manifest.Value,
            }.ToByteString(),
        };
    }

    /// <summary>A structurally valid one-segment manifest record naming this key as its owner, with a made-up signature.</summary>
    public ValueRecord Manifest(DateTimeOffset createdAt)
    {
        var body = new ManifestBody
        {
            FormatVersion = 1,
            PlaintextSize = 100,
            SegmentSize = 4096,
            DataShards = 2,
            ParityShards = 1,
            Cipher = new CipherParameters { Algorithm = 1, Salt = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)), TagSize = 16 },
            OwnerPublicKey = ByteString.CopyFrom(SubjectPublicKeyInfo),
            CreatedUnixMs = createdAt.ToUnixTimeMilliseconds(),
        };
        body.Segments.Add(new SegmentEntry { ShardSize = 58, ShardHashes = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(3 * 32)) });
        var bytes = new SignedManifest { Body = body.ToByteString(), Signature = ByteString.CopyFrom(Signature()) }.ToByteArray();
        return new ValueRecord
        {
            Key = ByteString.CopyFrom(SHA256.HashData(bytes)),
            Kind = RecordKind.Signed,
            Name = ByteString.CopyFromUtf8("m"),
            Type = FileRecords.Type,
            Value = ByteString.CopyFrom(bytes),
        };
    }

    /// <summary>
    /// A shard put under a store delegation to <paramref name="uploader"/> that names this key as the owner; the owner
    /// signature is made up.
    /// </summary>
    public PutShardRequest Put(DateTimeOffset now, NodeId uploader)
    {
        var data = RandomNumberGenerator.GetBytes(1000);
        return new PutShardRequest
        {
            ShardHash = ByteString.CopyFrom(Sha256Hash.Compute(data).ToArray()),
            Data = ByteString.CopyFrom(data),
            Delegation = new StoreDelegation
            {
                OwnerPublicKey = ByteString.CopyFrom(SubjectPublicKeyInfo),
                UploaderNodeId = ByteString.CopyFrom(uploader.ToByteArray()),
                NotAfterUnixMs = (now + TimeSpan.FromHours(1)).ToUnixTimeMilliseconds(),
                Signature = ByteString.CopyFrom(Signature()),
            },
        };
    }

    public override string ToString() => Name;
}
