using System.Collections.Concurrent;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Validates file records (<see cref="FileRecords"/>): a manifest must hash to its key and carry a valid owner
/// signature; a tombstone must be signed by the key it names. Between a manifest and a tombstone for one CID, the
/// tombstone wins only when its signer is the manifest's owner, so a forged tombstone can never hide a file from a
/// node that has seen the manifest.
/// </summary>
internal sealed class FileRecordValidator : IRecordValidator
{
    private const int CacheLimit = 4096;

    /// <summary>
    /// Records already verified, by SHA-256 of (name, expiry, value): every lookup answer carries the same record,
    /// and an RSA verification per answer would dominate a small read.
    /// </summary>
    private readonly ConcurrentDictionary<Crypto.Sha256Hash, byte> _verified = new();

    public static FileRecordValidator Instance { get; } = new();

    public void Validate(ValueRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var fingerprint = Fingerprint(record);
        if (_verified.ContainsKey(fingerprint)) return;
        ValidateUncached(record);
        if (_verified.Count >= CacheLimit) _verified.Clear();
        _verified.TryAdd(fingerprint, 0);
    }

    private static Crypto.Sha256Hash Fingerprint(ValueRecord record)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> fixedPart = stackalloc byte[8 + 4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(fixedPart, record.ExpiresUnixMs);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(fixedPart[8..], (uint)record.Kind);
        h.AppendData(fixedPart);
        h.AppendData(record.Key.Span);
        h.AppendData(record.Name.Span);
        h.AppendData(record.Value.Span);
        Span<byte> digest = stackalloc byte[32];
        h.GetHashAndReset(digest);
        return new Crypto.Sha256Hash(digest);
    }

    private static void ValidateUncached(ValueRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Key.Length != 32)
            throw new ArgumentException($"A record key is 32 bytes; got {record.Key.Length}.", nameof(record));
        if (record.Kind != RecordKind.Signed)
            throw new ArgumentException("File records use the SIGNED record kind.", nameof(record));
        if (FileRecords.IsManifest(record))
            FileRecords.OpenManifest(record);
        else if (FileRecords.IsTombstone(record))
            FileRecords.OpenTombstone(record);
        else
            throw new ArgumentException("A file record is named 'm' (manifest) or 't' (tombstone).", nameof(record));
    }

    public ValueRecord Select(ValueRecord existing, ValueRecord incoming)
    {
        bool existingDead = FileRecords.IsTombstone(existing);
        bool incomingDead = FileRecords.IsTombstone(incoming);
        if (existingDead == incomingDead) return existing;
        var tombstone = FileRecords.OpenTombstone(existingDead ? existing : incoming);
        var manifest = FileRecords.OpenManifest(existingDead ? incoming : existing);
        bool genuine = FileRecords.SameOwner(tombstone, manifest);
        // A genuine tombstone always wins; a tombstone by anyone else loses to the manifest it tries to hide.
        return genuine ? (existingDead ? existing : incoming) : (existingDead ? incoming : existing);
    }
}
