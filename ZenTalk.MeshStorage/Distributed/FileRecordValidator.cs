using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Validates file records (<see cref="FileRecords"/>): a manifest must hash to its key and carry a valid owner
/// signature; a tombstone must carry that manifest and be signed by its owner, so a tombstone by anyone else is
/// invalid everywhere, whether or not the node has seen the manifest. Which of two valid records of one CID wins does
/// not depend on the order they arrive in: the owner's tombstone beats the manifest, and of two tombstones the
/// earlier deletion (then the smaller bytes) wins.
/// </summary>
internal sealed class FileRecordValidator : IRecordValidator
{
    private const int CacheLimit = 4096;

    /// <summary>
    /// Records already verified, by a SHA-256 over every field validation reads, each with its length: every lookup
    /// answer carries the same record, and an RSA verification per answer would dominate a small read.
    /// </summary>
    private readonly ConcurrentDictionary<Crypto.Sha256Hash, byte> _verified = new();

    public static FileRecordValidator Instance { get; } = new();

    public void Validate(ValueRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        CheckShape(record);
        var fingerprint = Fingerprint(record);
        if (_verified.ContainsKey(fingerprint)) return;
        Verify(record);
        if (_verified.Count >= CacheLimit) _verified.Clear();
        _verified.TryAdd(fingerprint, 0);
    }

    /// <summary>
    /// Type, kind, expiry, then key, name and value each after its length, so that no two different records give the
    /// same input (without the lengths, a name and value cut in another place would hit a genuine record's entry).
    /// Public key, signature and sequence are not hashed: <see cref="CheckShape"/> (which runs before the cache is
    /// asked) refuses a file record that sets any of them.
    /// </summary>
    internal static Crypto.Sha256Hash Fingerprint(ValueRecord record)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> header = stackalloc byte[4 + 4 + 8];
        BinaryPrimitives.WriteUInt32BigEndian(header, record.Type);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)record.Kind);
        BinaryPrimitives.WriteInt64BigEndian(header[8..], record.ExpiresUnixMs);
        h.AppendData(header);
        AppendField(h, record.Key.Span);
        AppendField(h, record.Name.Span);
        AppendField(h, record.Value.Span);
        Span<byte> digest = stackalloc byte[32];
        h.GetHashAndReset(digest);
        return new Crypto.Sha256Hash(digest);
    }

    private static void AppendField(IncrementalHash h, ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, field.Length);
        h.AppendData(length);
        h.AppendData(field);
    }

    /// <summary>The cheap checks, made on every record, cached or not.</summary>
    private static void CheckShape(ValueRecord record)
    {
        if (record.Type != FileRecords.Type)
            throw new ArgumentException($"A file record has type {FileRecords.Type}; got {record.Type}.", nameof(record));
        if (record.Key.Length != 32)
            throw new ArgumentException($"A record key is 32 bytes; got {record.Key.Length}.", nameof(record));
        if (record.Kind != RecordKind.Signed)
            throw new ArgumentException("File records use the SIGNED record kind.", nameof(record));
        // Fields file records never use: set, they would only carry bytes nobody checks.
        if (!record.PublicKey.IsEmpty || !record.Signature.IsEmpty || record.Sequence != 0)
            throw new ArgumentException("A file record carries no public key, signature or sequence of the DHT's own.", nameof(record));
        if (!FileRecords.IsManifest(record) && !FileRecords.IsTombstone(record))
            throw new ArgumentException("A file record is named 'm' (manifest) or 't' (tombstone).", nameof(record));
    }

    /// <summary>The signatures and hashes: what the cache saves.</summary>
    private static void Verify(ValueRecord record)
    {
        if (FileRecords.IsManifest(record))
            FileRecords.OpenManifest(record);
        else
            FileRecords.OpenTombstone(record);
    }

    /// <summary>
    /// Both records were validated, so a tombstone is the owner's: it beats the manifest; of two tombstones the earlier
    /// deletion wins (<see cref="FileRecords.CompareTombstones"/>); two valid manifests of one CID are the same bytes.
    /// The winner is the same whichever record came first.
    /// </summary>
    public ValueRecord Select(ValueRecord existing, ValueRecord incoming)
    {
        int existingRank = Rank(existing), incomingRank = Rank(incoming);
        if (existingRank != incomingRank) return incomingRank > existingRank ? incoming : existing;
        if (existingRank == 2 && FileRecords.CompareTombstones(incoming, existing) < 0) return incoming;
        return existing;
    }

    private static int Rank(ValueRecord record) =>
        record.Type != FileRecords.Type ? 0 : FileRecords.IsTombstone(record) ? 2 : FileRecords.IsManifest(record) ? 1 : 0;
}
