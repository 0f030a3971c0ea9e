using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Format.Proto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>What a put's authority grants: a hold for this owner key, until this expiry (null = none).</summary>
internal readonly record struct ShardAuthority(Sha256Hash Owner, DateTimeOffset? ExpiresAt);

/// <summary>
/// Decides whether a PUT_SHARD carries its owner's signed authority for the shard, and what that authority says
/// (owner, expiry). The authority is exactly one of: the file's manifest record (<c>file_record</c>) or the CID of a
/// manifest this node holds (<c>file_cid</c>), either of which must list the shard's hash and size; or a store
/// delegation (<c>delegation</c>, <see cref="StoreDelegations"/>) naming the node that sent the put, as its TLS
/// handshake proved. Nothing else in a put (what expiry it would like, who it says it is) counts. Verified delegations
/// and manifest records are cached by fingerprint, so the puts of one store cost one owner-signature check per holder.
/// </summary>
internal sealed class ShardAdmission
{
    private const int CacheLimit = 1024;

    private readonly FileIndex _files;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Sha256Hash, Delegation> _delegations = new();

    /// <summary>A delegation whose owner signature verified, and what it allows.</summary>
    private sealed record Delegation(Sha256Hash Owner, NodeId Uploader, DateTimeOffset? ExpiresAt, DateTimeOffset NotAfter);

    public ShardAdmission(FileIndex files, TimeProvider time)
    {
        _files = files;
        _time = time;
    }

    /// <summary>The authority <paramref name="request"/>, sent by <paramref name="sender"/>, carries for a shard of <paramref name="length"/> bytes.</summary>
    /// <exception cref="UnauthorizedOperationException">It carries none, or one that does not verify, has ended, names
    /// another node, or does not list this shard with this size.</exception>
    /// <exception cref="ArgumentException">It carries more than one, or a malformed one.</exception>
    public ShardAuthority Authorize(PutShardRequest request, Sha256Hash hash, int length, NodeId sender)
    {
        int kinds = (request.FileRecord is null ? 0 : 1) + (request.FileCid.IsEmpty ? 0 : 1) + (request.Delegation is null ? 0 : 1);
        if (kinds > 1)
            throw new ArgumentException("A PUT_SHARD carries one authority: a file record, a file CID or a store delegation.", nameof(request));
        var authority = request switch
        {
            { FileRecord: { } record } => FromRecord(record, hash, length),
            { Delegation: { } delegation } => FromDelegation(delegation, hash, sender),
            _ when !request.FileCid.IsEmpty => FromManifest(KnownManifest(request.FileCid), hash, length),
            _ => throw new UnauthorizedOperationException(
                $"The put of shard {hash} carries no owner authority: a holder keeps a shard only under its file's manifest or its owner's delegation to the sender."),
        };
        if (authority.ExpiresAt is { } expires && expires <= _time.GetUtcNow())
            throw new UnauthorizedOperationException($"The owner's authority for shard {hash} expired at {expires:O}.");
        return authority;
    }

    /// <summary>
    /// The authority of a manifest record: validated as a STORE_VALUE of it is (CID, canonical form, owner signature,
    /// expiry), through the validator's cache, so the record store's own check of it right after costs nothing; then
    /// its body is read for the shard's entry.
    /// </summary>
    private static ShardAuthority FromRecord(ValueRecord record, Sha256Hash hash, int length)
    {
        if (record.Type != FileRecords.Type || !FileRecords.IsManifest(record) || record.Key.Length != Sha256Hash.Size)
            throw new ArgumentException("A PUT_SHARD carries only its file's manifest record, not a tombstone or another record.", nameof(record));
        FileRecordValidator.Instance.Validate(record);
        var body = ManifestBody.Parser.ParseFrom(SignedManifest.Parser.ParseFrom(record.Value.Span).Body.Span);
        Span<byte> hashBytes = stackalloc byte[Sha256Hash.Size];
        hash.CopyTo(hashBytes);
        foreach (var segment in body.Segments)
        {
            if (segment.ShardSize != (uint)length) continue;
            var hashes = segment.ShardHashes.Span;
            for (int i = 0; i + Sha256Hash.Size <= hashes.Length; i += Sha256Hash.Size)
            {
                if (hashes.Slice(i, Sha256Hash.Size).SequenceEqual(hashBytes))
                {
                    return new ShardAuthority(Sha256Hash.Compute(body.OwnerPublicKey.Span),
                        body.ExpiresUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(body.ExpiresUnixMs));
                }
            }
        }

        throw new UnauthorizedOperationException($"The manifest record {Cid.FromDigest(new Sha256Hash(record.Key.Span))} does not list shard {hash} with {length} bytes.");
    }

    private Manifest KnownManifest(ByteString digest)
    {
        if (digest.Length != Sha256Hash.Size)
            throw new ArgumentException("A file CID in a PUT_SHARD is the 32-byte digest.", nameof(digest));
        var cid = Cid.FromDigest(new Sha256Hash(digest.Span));
        return _files.LiveManifest(cid)
            ?? throw new UnauthorizedOperationException($"This node holds no live manifest of {cid}: send the manifest record with the put.");
    }

    private static ShardAuthority FromManifest(Manifest manifest, Sha256Hash hash, int length)
    {
        for (int s = 0; s < manifest.SegmentCount; s++)
        {
            if (manifest.ShardSize(s) != length) continue;
            for (int j = 0; j < manifest.TotalShards; j++)
                if (manifest.ShardHash(s, j) == hash)
                    return new ShardAuthority(Sha256Hash.Compute(manifest.Owner.SubjectPublicKeyInfo), manifest.ExpiresAt);
        }

        throw new UnauthorizedOperationException($"The manifest of {manifest.Cid} does not list shard {hash} with {length} bytes.");
    }

    private ShardAuthority FromDelegation(StoreDelegation delegation, Sha256Hash hash, NodeId sender)
    {
        var verified = Verified(delegation);
        if (verified.Uploader != sender)
            throw new UnauthorizedOperationException($"The owner delegated the put of shard {hash} to node {verified.Uploader.ToString()[..16]}, not to the sender.");
        if (verified.NotAfter <= _time.GetUtcNow())
            throw new UnauthorizedOperationException($"The store delegation ended at {verified.NotAfter:O}; the uploader must sign a new one.");
        return new ShardAuthority(verified.Owner, verified.ExpiresAt);
    }

    /// <summary>A delegation whose owner signature verifies (checked once per fingerprint), and whose terms are sane.</summary>
    private Delegation Verified(StoreDelegation delegation)
    {
        var payload = StoreDelegations.Payload(delegation);
        var fingerprint = Fingerprint(payload, delegation.Signature.Span);
        if (_delegations.TryGetValue(fingerprint, out var known)) return known;

        if (delegation.UploaderNodeId.Length != NodeId.Size)
            throw new ArgumentException($"A store delegation names its uploader's {NodeId.Size}-byte node id.", nameof(delegation));
        var notAfter = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(delegation.NotAfterUnixMs, 0, 253402300799999L));
        if (notAfter > _time.GetUtcNow() + StoreDelegations.MaxLifetime)
            throw new UnauthorizedOperationException($"The store delegation lasts until {notAfter:O}; a holder accepts at most {StoreDelegations.MaxLifetime.TotalHours:0} h ahead.");
        if (delegation.ExpiresUnixMs < 0)
            throw new ArgumentException("A store delegation's expiry is 0 (none) or a time.", nameof(delegation));
        OwnerPublicKey owner;
        try
        {
            owner = OwnerPublicKey.FromSubjectPublicKeyInfo(delegation.OwnerPublicKey.Span);
        }
        catch (IntegrityException e)
        {
            throw new UnauthorizedOperationException("The store delegation's owner key is not a usable owner key: " + e.Message, e);
        }

        if (!owner.Verify(payload, delegation.Signature.Span))
            throw new UnauthorizedOperationException($"The store delegation's signature does not verify against its owner key {owner.Id}.");
        var verified = new Delegation(Sha256Hash.Compute(owner.SubjectPublicKeyInfo), new NodeId(delegation.UploaderNodeId.Span),
            delegation.ExpiresUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(delegation.ExpiresUnixMs, 253402300799999L)), notAfter);
        Remember(_delegations, fingerprint, verified);
        return verified;
    }

    private static Sha256Hash Fingerprint(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(payload);
        h.AppendData(signature);
        Span<byte> digest = stackalloc byte[Sha256Hash.Size];
        h.GetHashAndReset(digest);
        return new Sha256Hash(digest);
    }

    private static void Remember<TKey, TValue>(ConcurrentDictionary<TKey, TValue> cache, TKey key, TValue value)
        where TKey : notnull
    {
        if (cache.Count >= CacheLimit) cache.Clear();
        cache.TryAdd(key, value);
    }
}
