using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.HostilePeer;

/// <summary>
/// What the flood is made of, built from the byte layouts docs/protocol.md gives: value records (§5) and store
/// delegations (§4, "The owner's authority on a PUT_SHARD"), signed with keys of this program's own.
/// </summary>
internal static class Junk
{
    /// <summary>The file-record type (protocol.md §5): manifests and tombstones.</summary>
    public const uint FileRecordType = 0x5A46;

    /// <summary>An IMMUTABLE record: key = SHA-256(value), no signature.</summary>
    public static ValueRecord Immutable(byte[] value, uint type = 0) => new()
    {
        Key = ByteString.CopyFrom(SHA256.HashData(value)),
        Kind = RecordKind.Immutable,
        Value = UnsafeByteOperations.UnsafeWrap(value),
        Type = type,
    };

    /// <summary>
    /// A SIGNED record under a name of the signer's choosing: key = SHA-256("zentalk-record-v1" ‖ u32be(len spki) ‖ spki
    /// ‖ u32be(len name) ‖ name); the ECDSA P-256/SHA-256 signature (r ‖ s) covers "zentalk-record-sig-v1" ‖ key ‖
    /// u32be(type) ‖ u64be(sequence) ‖ i64be(expires_unix_ms) ‖ SHA-256(value).
    /// </summary>
    public static ValueRecord Signed(ECDsa signer, byte[] name, byte[] value, ulong sequence)
    {
        var spki = signer.ExportSubjectPublicKeyInfo();
        using var keyInput = new MemoryStream();
        keyInput.Write("zentalk-record-v1"u8);
        WriteU32(keyInput, (uint)spki.Length);
        keyInput.Write(spki);
        WriteU32(keyInput, (uint)name.Length);
        keyInput.Write(name);
        var key = SHA256.HashData(keyInput.ToArray());

        const uint type = 0;
        const long expires = 0;
        using var signed = new MemoryStream();
        signed.Write("zentalk-record-sig-v1"u8);
        signed.Write(key);
        WriteU32(signed, type);
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(eight, sequence);
        signed.Write(eight);
        BinaryPrimitives.WriteInt64BigEndian(eight, expires);
        signed.Write(eight);
        signed.Write(SHA256.HashData(value));
        return new ValueRecord
        {
            Key = ByteString.CopyFrom(key),
            Kind = RecordKind.Signed,
            Value = UnsafeByteOperations.UnsafeWrap(value),
            PublicKey = ByteString.CopyFrom(spki),
            Name = ByteString.CopyFrom(name),
            Sequence = sequence,
            ExpiresUnixMs = expires,
            Signature = ByteString.CopyFrom(signer.SignData(signed.ToArray(), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)),
            Type = type,
        };
    }

    /// <summary>
    /// A store delegation of <paramref name="owner"/> (RSASSA-PSS, SHA-256, 32-byte salt) to <paramref name="uploader"/>
    /// over "ZenTalk store delegation v1" 0x00 ‖ u32be(len owner spki) ‖ owner spki ‖ uploader node id (32) ‖
    /// i64be(expires_unix_ms) ‖ i64be(not_after_unix_ms).
    /// </summary>
    public static StoreDelegation Delegation(RSA owner, byte[] uploader, long expiresUnixMs, DateTimeOffset notAfter)
    {
        var spki = owner.ExportSubjectPublicKeyInfo();
        long notAfterMs = notAfter.ToUnixTimeMilliseconds();
        using var signed = new MemoryStream();
        signed.Write("ZenTalk store delegation v1\0"u8);
        WriteU32(signed, (uint)spki.Length);
        signed.Write(spki);
        signed.Write(uploader);
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(eight, expiresUnixMs);
        signed.Write(eight);
        BinaryPrimitives.WriteInt64BigEndian(eight, notAfterMs);
        signed.Write(eight);
        return new StoreDelegation
        {
            OwnerPublicKey = ByteString.CopyFrom(spki),
            UploaderNodeId = ByteString.CopyFrom(uploader),
            ExpiresUnixMs = expiresUnixMs,
            NotAfterUnixMs = notAfterMs,
            Signature = ByteString.CopyFrom(owner.SignData(signed.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pss)),
        };
    }

    private static void WriteU32(Stream stream, uint value)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(four, value);
        stream.Write(four);
    }
}
