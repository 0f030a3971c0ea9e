using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Creates the two record forms the default validator understands, and defines their canonical bytes.
/// <list type="bullet">
/// <item>IMMUTABLE: key = SHA-256(value). Anyone can store it; nobody can change it.</item>
/// <item>SIGNED: key = SHA-256("zentalk-record-v1" ‖ u32 len ‖ SPKI ‖ u32 len ‖ name); the signature (ECDSA P-256
/// with SHA-256 in IEEE P1363 form, or RSASSA-PSS with SHA-256) covers <see cref="SigningBytes"/>. A higher sequence
/// replaces a lower one.</item>
/// </list>
/// </summary>
internal static class ValueRecords
{
    private static readonly byte[] KeyDomain = Encoding.ASCII.GetBytes("zentalk-record-v1");
    private static readonly byte[] SignatureDomain = Encoding.ASCII.GetBytes("zentalk-record-sig-v1");

    public static ValueRecord CreateImmutable(ReadOnlySpan<byte> value, DateTimeOffset? expires = null, uint type = 0) => new()
    {
        Key = ByteString.CopyFrom(SHA256.HashData(value)),
        Kind = RecordKind.Immutable,
        Value = ByteString.CopyFrom(value),
        ExpiresUnixMs = expires?.ToUnixTimeMilliseconds() ?? 0,
        Type = type,
    };

    /// <summary>Key of a signed record: binds the signer's key and the record name.</summary>
    public static byte[] SignedKey(ReadOnlySpan<byte> subjectPublicKeyInfo, ReadOnlySpan<byte> name)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> len = stackalloc byte[4];
        h.AppendData(KeyDomain);
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)subjectPublicKeyInfo.Length);
        h.AppendData(len);
        h.AppendData(subjectPublicKeyInfo);
        BinaryPrimitives.WriteUInt32BigEndian(len, (uint)name.Length);
        h.AppendData(len);
        h.AppendData(name);
        return h.GetHashAndReset();
    }

    /// <summary>The bytes a signed record's signature covers: domain ‖ key ‖ type ‖ sequence ‖ expiry ‖ SHA-256(value).</summary>
    public static byte[] SigningBytes(ValueRecord record)
    {
        var b = new byte[SignatureDomain.Length + 32 + 4 + 8 + 8 + 32];
        var s = b.AsSpan();
        SignatureDomain.CopyTo(s);
        s = s[SignatureDomain.Length..];
        if (record.Key.Length != 32) throw new ArgumentException("A record key is 32 bytes.", nameof(record));
        record.Key.Span.CopyTo(s);
        BinaryPrimitives.WriteUInt32BigEndian(s[32..], record.Type);
        BinaryPrimitives.WriteUInt64BigEndian(s[36..], record.Sequence);
        BinaryPrimitives.WriteInt64BigEndian(s[44..], record.ExpiresUnixMs);
        SHA256.HashData(record.Value.Span, s[52..]);
        return b;
    }

    public static ValueRecord CreateSigned(ECDsa key, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ulong sequence,
        DateTimeOffset? expires = null, uint type = 0)
    {
        var record = Unsigned(key.ExportSubjectPublicKeyInfo(), name, value, sequence, expires, type);
        record.Signature = ByteString.CopyFrom(key.SignData(SigningBytes(record), HashAlgorithmName.SHA256));
        return record;
    }

    public static ValueRecord CreateSigned(RSA key, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ulong sequence,
        DateTimeOffset? expires = null, uint type = 0)
    {
        var record = Unsigned(key.ExportSubjectPublicKeyInfo(), name, value, sequence, expires, type);
        record.Signature = ByteString.CopyFrom(key.SignData(SigningBytes(record), HashAlgorithmName.SHA256, RSASignaturePadding.Pss));
        return record;
    }

    private static ValueRecord Unsigned(byte[] spki, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ulong sequence,
        DateTimeOffset? expires, uint type) => new()
        {
            Key = ByteString.CopyFrom(SignedKey(spki, name)),
            Kind = RecordKind.Signed,
            Value = ByteString.CopyFrom(value),
            PublicKey = ByteString.CopyFrom(spki),
            Name = ByteString.CopyFrom(name),
            Sequence = sequence,
            ExpiresUnixMs = expires?.ToUnixTimeMilliseconds() ?? 0,
            Type = type,
        };
}
