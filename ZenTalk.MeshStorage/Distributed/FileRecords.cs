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
/// manifest copy and hide a deletion). A tombstone carries the manifest it deletes, so any node can check that it
/// was signed by the file's owner; no other tombstone is valid.
/// </summary>
internal static class FileRecords
{
    /// <summary>The record type tag of file records ("ZF").</summary>
    public const uint Type = 0x5A46;

    private static readonly ByteString ManifestName = ByteString.CopyFromUtf8("m");
    private static readonly ByteString TombstoneName = ByteString.CopyFromUtf8("t");

    private static ReadOnlySpan<byte> TombstoneContext => "ZenTalk tombstone v1\0"u8;

    // Unknown fields are dropped on parsing, so a tombstone that carries any fails the canonical-form check.
    private static readonly MessageParser<Tombstone> TombstoneParser = Tombstone.Parser.WithDiscardUnknownFields(true);

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

    /// <summary>
    /// The tombstone of <paramref name="manifest"/>'s file, signed by <paramref name="owner"/> (valid only when that is
    /// the manifest's owner). It lives as long as the file would have: its record expiry is the manifest's.
    /// </summary>
    public static ValueRecord ForTombstone(Manifest manifest, OwnerKey owner, DateTimeOffset deletedAt)
    {
        var digest = new byte[Sha256Hash.Size];
        manifest.Cid.CopyDigestTo(digest);
        var tombstone = new Tombstone
        {
            CidDigest = ByteString.CopyFrom(digest),
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            DeletedUnixMs = deletedAt.ToUnixTimeMilliseconds(),
            Manifest = ByteString.CopyFrom(manifest.Bytes.Span),
        };
        tombstone.Signature = ByteString.CopyFrom(owner.Sign(TombstonePayload(digest, tombstone.DeletedUnixMs)));
        return new ValueRecord
        {
            Key = ByteString.CopyFrom(digest),
            Kind = RecordKind.Signed,
            Name = TombstoneName,
            Value = tombstone.ToByteString(),
            ExpiresUnixMs = manifest.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
            Type = Type,
        };
    }

    /// <summary>
    /// Whether a tombstone record is of the first format, which did not carry the manifest (record logs written by
    /// earlier versions hold such records; <see cref="WithManifest"/> completes them).
    /// </summary>
    public static bool LacksManifest(ValueRecord record)
    {
        try
        {
            return IsTombstone(record) && Tombstone.Parser.ParseFrom(record.Value.Span).Manifest.IsEmpty;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>
    /// A first-format tombstone completed with the manifest it deletes. The signature covers only the CID and the
    /// time, so nothing is re-signed: the result validates only if the tombstone's signer owns that manifest.
    /// </summary>
    public static ValueRecord WithManifest(ValueRecord record, Manifest manifest)
    {
        var tombstone = Tombstone.Parser.ParseFrom(record.Value.Span);
        tombstone.Manifest = ByteString.CopyFrom(manifest.Bytes.Span);
        var upgraded = record.Clone();
        upgraded.Value = tombstone.ToByteString();
        upgraded.ExpiresUnixMs = manifest.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0;
        return upgraded;
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

    /// <summary>
    /// Opens and verifies a tombstone record: its manifest hashes to the key and verifies, the tombstone is signed by
    /// that manifest's owner, it is in canonical form, and its record expiry is the manifest's.
    /// </summary>
    /// <returns>The tombstone and the manifest of the file it deletes.</returns>
    /// <exception cref="IntegrityException">The record is not a valid tombstone for its key.</exception>
    public static (Tombstone Tombstone, Manifest Manifest) OpenTombstone(ValueRecord record)
    {
        Tombstone tombstone;
        try
        {
            tombstone = TombstoneParser.ParseFrom(record.Value.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new IntegrityException("The tombstone is not a valid protobuf Tombstone.", e);
        }

        // One byte form per tombstone: no unknown fields, no padding to make copies that differ.
        if (!tombstone.ToByteString().Span.SequenceEqual(record.Value.Span))
            throw new IntegrityException("The tombstone is not in canonical form (field order, defaults or unknown fields).");
        if (!tombstone.CidDigest.Span.SequenceEqual(record.Key.Span))
            throw new IntegrityException("The tombstone names a different CID than the key it is stored under.");
        if (tombstone.Manifest.IsEmpty)
            throw new IntegrityException("The tombstone does not carry the manifest of the file it deletes, so nothing shows that its signer owns the file.");
        var manifest = Manifest.Open(tombstone.Manifest.Memory, Cid.FromDigest(new Sha256Hash(record.Key.Span)));
        if (!tombstone.OwnerPublicKey.Span.SequenceEqual(manifest.Owner.SubjectPublicKeyInfo))
            throw new IntegrityException($"The tombstone is not signed by the file's owner {manifest.Owner.Id}: only the owner can delete a file.");
        if (!manifest.Owner.Verify(TombstonePayload(tombstone.CidDigest.Span, tombstone.DeletedUnixMs), tombstone.Signature.Span))
            throw new IntegrityException($"The tombstone's signature does not verify against the owner key {manifest.Owner.Id}.");
        if (record.ExpiresUnixMs != (manifest.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0))
            throw new IntegrityException("The tombstone record's expiry differs from the expiry of the file it deletes.");
        return (tombstone, manifest);
    }

    /// <summary>
    /// Orders two valid tombstones of one file so that every node keeps the same one whatever order they arrive in:
    /// the earlier deletion first, then the smaller bytes. Negative when <paramref name="a"/> wins.
    /// </summary>
    public static int CompareTombstones(ValueRecord a, ValueRecord b)
    {
        int byTime = DeletedUnixMs(a).CompareTo(DeletedUnixMs(b));
        return byTime != 0 ? byTime : a.Value.Span.SequenceCompareTo(b.Value.Span);
    }

    private static long DeletedUnixMs(ValueRecord record)
    {
        try
        {
            return Tombstone.Parser.ParseFrom(record.Value.Span).DeletedUnixMs;
        }
        catch (InvalidProtocolBufferException)
        {
            return long.MaxValue; // Never valid; ranks last.
        }
    }

    private static byte[] TombstonePayload(ReadOnlySpan<byte> digest, long deletedUnixMs)
    {
        var payload = new byte[TombstoneContext.Length + digest.Length + 8];
        TombstoneContext.CopyTo(payload);
        digest.CopyTo(payload.AsSpan(TombstoneContext.Length));
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(TombstoneContext.Length + digest.Length), deletedUnixMs);
        return payload;
    }
}
