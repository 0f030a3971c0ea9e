using System.Buffers.Binary;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The authority a streamed file's segments are placed under, before its manifest exists: one owner signature per
/// store (<see cref="StoreDelegation"/>) naming the node that sends the puts, the file's expiry and how long the
/// delegation lasts. A holder accepts it only on a connection whose TLS handshake proved that node id, so no per-put
/// signature is needed and nobody who sees the delegation (a holder) can use it. Signed bytes (docs/protocol.md):
/// <code>
/// "ZenTalk store delegation v1" 0x00 ‖ u32be(len owner spki) ‖ owner spki ‖ uploader node id (32) ‖
///   i64be(expires_unix_ms) ‖ i64be(not_after_unix_ms)
/// </code>
/// </summary>
internal static class StoreDelegations
{
    /// <summary>How long a client's delegation lasts; it takes a new one when less than an hour of it is left.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(6);

    /// <summary>The furthest ahead of a holder's clock a delegation may end: a delegation cannot be used for ever.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromHours(24);

    private static ReadOnlySpan<byte> Context => "ZenTalk store delegation v1\0"u8;

    /// <summary>The bytes the owner signs for a delegation.</summary>
    public static byte[] Payload(StoreDelegation delegation)
    {
        var owner = delegation.OwnerPublicKey.Span;
        var uploader = delegation.UploaderNodeId.Span;
        var payload = new byte[Context.Length + 4 + owner.Length + uploader.Length + 16];
        var s = payload.AsSpan();
        Context.CopyTo(s);
        s = s[Context.Length..];
        BinaryPrimitives.WriteUInt32BigEndian(s, (uint)owner.Length);
        owner.CopyTo(s[4..]);
        s = s[(4 + owner.Length)..];
        uploader.CopyTo(s);
        s = s[uploader.Length..];
        BinaryPrimitives.WriteInt64BigEndian(s, delegation.ExpiresUnixMs);
        BinaryPrimitives.WriteInt64BigEndian(s[8..], delegation.NotAfterUnixMs);
        return payload;
    }

    /// <summary>The owner's delegation to <paramref name="uploader"/> until <paramref name="notAfter"/>.</summary>
    public static StoreDelegation Create(OwnerKey owner, NodeId uploader, long expiresUnixMs, DateTimeOffset notAfter)
    {
        var delegation = new StoreDelegation
        {
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            UploaderNodeId = ByteString.CopyFrom(uploader.ToByteArray()),
            ExpiresUnixMs = expiresUnixMs,
            NotAfterUnixMs = notAfter.ToUnixTimeMilliseconds(),
        };
        delegation.Signature = ByteString.CopyFrom(owner.Sign(Payload(delegation)));
        return delegation;
    }
}
