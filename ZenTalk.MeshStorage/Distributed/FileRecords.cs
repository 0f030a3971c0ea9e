using System.Buffers.Binary;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed.Proto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The DHT records of a file, both stored under the file's CID digest with type tag <see cref="Type"/>: the signed
/// manifest (name "m") and, once the owner deletes the file, the owner-signed tombstone (name "t") that replaces
/// it. Both use the SIGNED record kind so that a lookup keeps asking until the closest nodes have answered and
/// the validator can prefer a tombstone over a manifest (an IMMUTABLE record would end the lookup at the first
/// manifest copy and hide a deletion).
/// </summary>
internal static class FileRecords
{
    /// <summary>The record type tag of file records ("ZF").</summary>
    public const uint Type = 0x5A46;

    private static readonly ByteString ManifestName = ByteString.CopyFromUtf8("m");
    private static readonly ByteString TombstoneName = ByteString.CopyFromUtf8("t");

    private static ReadOnlySpan<byte> TombstoneContext => "ZenTalk tombstone v1\0"u8;

    public static NodeId KeyOf(Cid cid)
    {
        Span<byte> digest = stackalloc byte[Sha256Hash.Size];
        cid.CopyDigestTo(digest);
        return new NodeId(digest);
    }

    public static ValueRecord ForManifest(Manifest manifest) => new()
    {
        Key = ByteString.CopyFrom(KeyOf(manifest.Cid).ToByteArray()),
        Kind = RecordKind.Signed,
        Name = ManifestName,
        Value = UnsafeByteOperations.UnsafeWrap(manifest.Bytes),
        ExpiresUnixMs = manifest.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
        Type = Type,
    };

    public static ValueRecord ForTombstone(Cid cid, OwnerKey owner, DateTimeOffset deletedAt)
    {
        var digest = new byte[Sha256Hash.Size];
        cid.CopyDigestTo(digest);
        var tombstone = new Tombstone
        {
            CidDigest = ByteString.CopyFrom(digest),
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            DeletedUnixMs = deletedAt.ToUnixTimeMilliseconds(),
        };
        tombstone.Signature = ByteString.CopyFrom(owner.Sign(TombstonePayload(digest, tombstone.DeletedUnixMs)));
        return new ValueRecord
        {
            Key = ByteString.CopyFrom(digest),
            Kind = RecordKind.Signed,
            Name = TombstoneName,
            Value = tombstone.ToByteString(),
            Type = Type,
        };
    }

    public static bool IsManifest(ValueRecord record) => record.Name.Equals(ManifestName);

    public static bool IsTombstone(ValueRecord record) => record.Name.Equals(TombstoneName);

    /// <summary>Opens and verifies a manifest record (hash = key, owner signature).</summary>
    /// <exception cref="IntegrityException">The record is not a valid manifest for its key.</exception>
    public static Manifest OpenManifest(ValueRecord record)
    {
        var manifest = Manifest.Open(record.Value.Memory, Cid.FromDigest(new Sha256Hash(record.Key.Span)));
        if (record.ExpiresUnixMs != (manifest.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0))
            throw new IntegrityException("The manifest record's expiry differs from the expiry the owner signed.");
        return manifest;
    }

    /// <summary>Opens and verifies a tombstone record (key = CID digest, owner signature).</summary>
    /// <exception cref="IntegrityException">The record is not a valid tombstone for its key.</exception>
    public static Tombstone OpenTombstone(ValueRecord record)
    {
        Tombstone tombstone;
        try
        {
            tombstone = Tombstone.Parser.ParseFrom(record.Value.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new IntegrityException("The tombstone is not a valid protobuf Tombstone.", e);
        }

        if (!tombstone.CidDigest.Span.SequenceEqual(record.Key.Span))
            throw new IntegrityException("The tombstone names a different CID than the key it is stored under.");
        var owner = OwnerPublicKey.FromSubjectPublicKeyInfo(tombstone.OwnerPublicKey.Span);
        if (!owner.Verify(TombstonePayload(tombstone.CidDigest.Span, tombstone.DeletedUnixMs), tombstone.Signature.Span))
            throw new IntegrityException($"The tombstone's signature does not verify against its owner key {owner.Id}.");
        return tombstone;
    }

    /// <summary>Whether <paramref name="tombstone"/> was signed by the owner named in <paramref name="manifest"/>.</summary>
    public static bool SameOwner(Tombstone tombstone, Manifest manifest) =>
        tombstone.OwnerPublicKey.Span.SequenceEqual(manifest.Owner.SubjectPublicKeyInfo);

    private static byte[] TombstonePayload(ReadOnlySpan<byte> digest, long deletedUnixMs)
    {
        var payload = new byte[TombstoneContext.Length + digest.Length + 8];
        TombstoneContext.CopyTo(payload);
        digest.CopyTo(payload.AsSpan(TombstoneContext.Length));
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(TombstoneContext.Length + digest.Length), deletedUnixMs);
        return payload;
    }
}
