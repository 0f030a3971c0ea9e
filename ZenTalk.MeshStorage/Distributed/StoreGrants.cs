using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The authority a streamed file's segments are placed under, before its manifest exists: one owner signature per
/// store (<see cref="StoreDelegation"/>) that names an ephemeral ECDSA P-256 session key, the file's expiry and how long
/// the delegation lasts, and one cheap session-key signature per segment (<see cref="SegmentGrant"/>) that names the
/// segment's shard hashes and shard size. Signed bytes (docs/protocol.md):
/// <code>
/// delegation: "ZenTalk store delegation v1" 0x00 ‖ u32be(len owner spki) ‖ owner spki ‖ u32be(len session spki) ‖
///             session spki ‖ i64be(expires_unix_ms) ‖ i64be(not_after_unix_ms)          (owner key)
/// grant:      "ZenTalk segment grant v1" 0x00 ‖ SHA-256(delegation bytes above) ‖ u32be(shard_size) ‖
///             u32be(count) ‖ count × 32 hash bytes                                          (session key, ECDSA P-256)
/// </code>
/// </summary>
internal static class StoreGrants
{
    /// <summary>How long a client's delegation lasts; it takes a new one when less than an hour of it is left.</summary>
    public static readonly TimeSpan DelegationLifetime = TimeSpan.FromHours(6);

    /// <summary>The furthest ahead of a holder's clock a delegation may end: a delegation cannot be used for ever.</summary>
    public static readonly TimeSpan MaxDelegationLifetime = TimeSpan.FromHours(24);

    public const int P256SignatureSize = 64;

    private static ReadOnlySpan<byte> DelegationContext => "ZenTalk store delegation v1\0"u8;

    private static ReadOnlySpan<byte> GrantContext => "ZenTalk segment grant v1\0"u8;

    /// <summary>The bytes the owner signs for a delegation.</summary>
    public static byte[] DelegationPayload(StoreDelegation delegation)
    {
        var owner = delegation.OwnerPublicKey.Span;
        var session = delegation.SessionPublicKey.Span;
        var payload = new byte[DelegationContext.Length + 4 + owner.Length + 4 + session.Length + 16];
        var s = payload.AsSpan();
        DelegationContext.CopyTo(s);
        s = s[DelegationContext.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)owner.Length);
        owner.CopyTo(s[4..]);
        s = s[(4 + owner.Length)..];
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)session.Length);
        session.CopyTo(s[4..]);
        s = s[(4 + session.Length)..];
        BinaryPrimitives.WriteInt64BigEndian(s, delegation.ExpiresUnixMs);
        BinaryPrimitives.WriteInt64BigEndian(s[8..], delegation.NotAfterUnixMs);
        return payload;
    }

    /// <summary>The bytes the session key signs for a grant under the delegation whose payload hashes to <paramref name="delegationDigest"/>.</summary>
    public static byte[] GrantPayload(ReadOnlySpan<byte> delegationDigest, uint shardSize, ReadOnlySpan<byte> hashes)
    {
        var payload = new byte[GrantContext.Length + Sha256Hash.Size + 8 + hashes.Length];
        var s = payload.AsSpan();
        GrantContext.CopyTo(s);
        s = s[GrantContext.Length..];
        delegationDigest.CopyTo(s);
        s = s[Sha256Hash.Size..];
        BinaryPrimitives.WriteUInt32BigEndian(s, shardSize);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], (uint)(hashes.Length / Sha256Hash.Size));
        hashes.CopyTo(s[8..]);
        return payload;
    }

    /// <summary>Signs a delegation of the owner's authority to <paramref name="session"/> until <paramref name="notAfter"/>.</summary>
    public static StoreDelegation Delegate(OwnerKey owner, ECDsa session, long expiresUnixMs, DateTimeOffset notAfter)
    {
        var delegation = new StoreDelegation
        {
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            SessionPublicKey = ByteString.CopyFrom(session.ExportSubjectPublicKeyInfo()),
            ExpiresUnixMs = expiresUnixMs,
            NotAfterUnixMs = notAfter.ToUnixTimeMilliseconds(),
        };
        delegation.Signature = ByteString.CopyFrom(owner.Sign(DelegationPayload(delegation)));
        return delegation;
    }

    /// <summary>Reads a session public key: an ECDSA P-256 SubjectPublicKeyInfo and nothing else.</summary>
    /// <exception cref="UnauthorizedOperationException">It is not one.</exception>
    public static ECDsa ImportSessionKey(ReadOnlySpan<byte> spki)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out int read);
            if (read != spki.Length || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                throw new CryptographicException("not a P-256 key");
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new UnauthorizedOperationException("The store delegation's session key is not an ECDSA P-256 SubjectPublicKeyInfo.", e);
        }
    }
}
