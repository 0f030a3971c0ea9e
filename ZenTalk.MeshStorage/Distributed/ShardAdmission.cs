using System.Collections.Concurrent;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>What a put's authority grants: a hold for this owner key, until this expiry (null = none).</summary>
internal readonly record struct ShardAuthority(Sha256Hash Owner, DateTimeOffset? ExpiresAt);

/// <summary>
/// Decides whether a PUT_SHARD carries its owner's signed authority for the shard, and what that authority says
/// (owner, expiry). The authority is exactly one of: the file's manifest record (<c>file_record</c>), the CID of a
/// manifest this node holds (<c>file_cid</c>), or a segment grant under a store delegation (<c>grant</c>,
/// <see cref="StoreGrants"/>); each must name the shard's hash and size. Nothing else in a put (who sends it, what
/// expiry it would like) counts. Verified delegations, grants and manifests are cached by fingerprint, so the puts of
/// one store cost one owner-signature check per holder and one ECDSA check per segment.
/// </summary>
internal sealed class ShardAdmission
{
    private const int CacheLimit = 1024;

    private readonly FileIndex _files;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<Sha256Hash, Delegation> _delegations = new();
    private readonly ConcurrentDictionary<Sha256Hash, byte> _grants = new();
    private readonly ConcurrentDictionary<Cid, Manifest> _manifests = new();

    /// <summary>A delegation whose owner signature verified: the session key it names, and what it allows.</summary>
    private sealed class Delegation(ECDsa session, byte[] digest, Sha256Hash owner, DateTimeOffset? expiresAt, DateTimeOffset notAfter)
    {
        public Lock Lock { get; } = new();

        public ECDsa Session { get; } = session;

        public byte[] Digest { get; } = digest;

        public Sha256Hash Owner { get; } = owner;

        public DateTimeOffset? ExpiresAt { get; } = expiresAt;

        public DateTimeOffset NotAfter { get; } = notAfter;
    }

    public ShardAdmission(FileIndex files, TimeProvider time)
    {
        _files = files;
        _time = time;
    }

    /// <summary>The authority <paramref name="request"/> carries for a shard of <paramref name="length"/> bytes.</summary>
    /// <exception cref="UnauthorizedOperationException">It carries none, or one that does not verify, has ended, or does not
    /// name this shard with this size.</exception>
    /// <exception cref="ArgumentException">It carries more than one, or a malformed one.</exception>
    public ShardAuthority Authorize(PutShardRequest request, Sha256Hash hash, int length)
    {
        int kinds = (request.FileRecord is null ? 0 : 1) + (request.FileCid.IsEmpty ? 0 : 1) + (request.Grant is null ? 0 : 1);
        if (kinds > 1)
            throw new ArgumentException("A PUT_SHARD carries one authority: a file record, a file CID or a segment grant.", nameof(request));
        var authority = request switch
        {
            { FileRecord: { } record } => FromManifest(OpenManifest(record), hash, length),
            { Grant: { } grant } => FromGrant(grant, hash, length),
            _ when !request.FileCid.IsEmpty => FromManifest(KnownManifest(request.FileCid), hash, length),
            _ => throw new UnauthorizedOperationException(
                $"The put of shard {hash} carries no owner authority: a holder keeps a shard only under its file's manifest or a segment grant signed for its owner."),
        };
        if (authority.ExpiresAt is { } expires && expires <= _time.GetUtcNow())
            throw new UnauthorizedOperationException($"The owner's authority for shard {hash} expired at {expires:O}.");
        return authority;
    }

    private Manifest OpenManifest(ValueRecord record)
    {
        if (record.Type != FileRecords.Type || !FileRecords.IsManifest(record) || record.Key.Length != Sha256Hash.Size)
            throw new ArgumentException("A PUT_SHARD carries only its file's manifest record, not a tombstone or another record.", nameof(record));
        var cid = Cid.FromDigest(new Sha256Hash(record.Key.Span));
        // A cached manifest is the one these bytes are when they hash to the same CID.
        if (_manifests.TryGetValue(cid, out var known) && cid.Matches(record.Value.Span)
            && record.ExpiresUnixMs == (known.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0))
            return known;
        var manifest = FileRecords.OpenManifest(record);
        Remember(_manifests, cid, manifest);
        return manifest;
    }

    private Manifest KnownManifest(Google.Protobuf.ByteString digest)
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

    private ShardAuthority FromGrant(SegmentGrant grant, Sha256Hash hash, int length)
    {
        var hashes = grant.ShardHashes.Span;
        if (hashes.Length == 0 || hashes.Length % Sha256Hash.Size != 0 || hashes.Length > Manifest.MaxTotalShards * Sha256Hash.Size)
            throw new ArgumentException($"A segment grant names 1 to {Manifest.MaxTotalShards} shard hashes of 32 bytes each.", nameof(grant));
        if (grant.Signature.Length != StoreGrants.P256SignatureSize)
            throw new UnauthorizedOperationException("The segment grant's signature is not an ECDSA P-256 signature.");
        var delegation = Verified(grant.Delegation ?? throw new UnauthorizedOperationException("The segment grant names no store delegation."));
        if (delegation.NotAfter <= _time.GetUtcNow())
            throw new UnauthorizedOperationException($"The store delegation ended at {delegation.NotAfter:O}; the uploader must sign a new one.");
        if (grant.ShardSize != (uint)length)
            throw new UnauthorizedOperationException($"The segment grant is for shards of {grant.ShardSize} bytes; this one has {length}.");
        bool named = false;
        for (int i = 0; i < hashes.Length && !named; i += Sha256Hash.Size)
            named = new Sha256Hash(hashes.Slice(i, Sha256Hash.Size)) == hash;
        if (!named) throw new UnauthorizedOperationException($"The segment grant does not name shard {hash}.");

        var payload = StoreGrants.GrantPayload(delegation.Digest, grant.ShardSize, hashes);
        var fingerprint = Fingerprint(payload, grant.Signature.Span);
        if (!_grants.ContainsKey(fingerprint))
        {
            bool valid;
            lock (delegation.Lock) valid = delegation.Session.VerifyData(payload, grant.Signature.Span, HashAlgorithmName.SHA256);
            if (!valid) throw new UnauthorizedOperationException("The segment grant's signature does not verify against the delegation's session key.");
            Remember(_grants, fingerprint, (byte)0);
        }

        return new ShardAuthority(delegation.Owner, delegation.ExpiresAt);
    }

    /// <summary>A delegation whose owner signature verifies (checked once per fingerprint), and whose terms are sane.</summary>
    private Delegation Verified(StoreDelegation delegation)
    {
        var payload = StoreGrants.DelegationPayload(delegation);
        var fingerprint = Fingerprint(payload, delegation.Signature.Span);
        if (_delegations.TryGetValue(fingerprint, out var known)) return known;

        var notAfter = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(delegation.NotAfterUnixMs, 0, 253402300799999L));
        if (notAfter > _time.GetUtcNow() + StoreGrants.MaxDelegationLifetime)
            throw new UnauthorizedOperationException($"The store delegation lasts until {notAfter:O}; a holder accepts at most {StoreGrants.MaxDelegationLifetime.TotalHours:0} h ahead.");
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
        var session = StoreGrants.ImportSessionKey(delegation.SessionPublicKey.Span);
        var verified = new Delegation(session, SHA256.HashData(payload), Sha256Hash.Compute(owner.SubjectPublicKeyInfo),
            delegation.ExpiresUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(delegation.ExpiresUnixMs, 253402300799999L)), notAfter);
        if (_delegations.Count >= CacheLimit)
        {
            foreach (var old in _delegations.Values)
                lock (old.Lock) old.Session.Dispose();
            _delegations.Clear();
        }

        return _delegations.GetOrAdd(fingerprint, verified) is var kept && ReferenceEquals(kept, verified) ? verified : Discard(verified, kept);
    }

    private static Delegation Discard(Delegation loser, Delegation kept)
    {
        loser.Session.Dispose();
        return kept;
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
