using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The uploader's side of <see cref="StoreDelegations"/> for one store: the owner key's delegation to this node, carried
/// by every put of the store's segments, and taken again when a store outlasts it. Thread-safe: segments are placed
/// side by side. The delegations come from the node's <see cref="StoreDelegationCache"/>, shared with its other stores.
/// </summary>
internal sealed class StoreSession
{
    /// <summary>A delegation with less than this left is not handed out: a new one is signed.</summary>
    internal static readonly TimeSpan RenewBefore = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;
    private readonly Func<(StoreDelegation Delegation, DateTimeOffset NotAfter)> _start;
    private readonly Lock _lock = new();
    private StoreDelegation _delegation;
    private DateTimeOffset _notAfter;

    /// <summary>A session that takes its delegation (and any later one) from <paramref name="start"/>.</summary>
    internal StoreSession(TimeProvider time, Func<(StoreDelegation Delegation, DateTimeOffset NotAfter)> start)
    {
        _time = time;
        _start = start;
        (_delegation, _notAfter) = start();
    }

    /// <summary>A delegation that lasts at least an hour more.</summary>
    public StoreDelegation Delegation()
    {
        lock (_lock)
        {
            if (NeedsRenewal(_notAfter, _time)) (_delegation, _notAfter) = _start();
            return _delegation;
        }
    }

    /// <summary>Whether a delegation that ends at <paramref name="notAfter"/> is too close to its end to hand out.</summary>
    internal static bool NeedsRenewal(DateTimeOffset notAfter, TimeProvider time) => time.GetUtcNow() > notAfter - RenewBefore;
}

/// <summary>
/// A node's store delegations by owner key and file expiry, shared by its stores. A delegation names the uploader, the
/// owner, the files' expiry and an end, not a file (docs/security.md): it already lets this node place any shards in the
/// owner's name until it ends. So a later store of the same owner and expiry takes it while more than
/// <see cref="StoreSession.RenewBefore"/> of it is left, instead of paying an owner signature of its own (an RSA-3072
/// signature is ~5 ms of a 64 MiB store's client CPU here); holders, which check a delegation once and cache it, are
/// spared that check too. No key is held: an entry is the signed delegation. Bounded by <see cref="Capacity"/>.
/// </summary>
internal sealed class StoreDelegationCache(NodeId uploader, TimeProvider time)
{
    /// <summary>The most (owner, expiry) pairs kept; beyond it, the ones due for renewal go first, then all.</summary>
    internal const int Capacity = 32;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Owner, long Expires), (StoreDelegation Delegation, DateTimeOffset NotAfter)> _entries = [];

    /// <summary>Entries held.</summary>
    internal int Count
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    /// <summary>A session for one store of <paramref name="owner"/>'s files expiring at <paramref name="expiresUnixMs"/> (0: never).</summary>
    public StoreSession Session(OwnerKey owner, long expiresUnixMs) => new(time, () => Get(owner, expiresUnixMs));

    /// <summary>The delegation for the pair: the kept one while it has more than an hour left, else a newly signed one.</summary>
    internal (StoreDelegation Delegation, DateTimeOffset NotAfter) Get(OwnerKey owner, long expiresUnixMs)
    {
        var key = (owner.PublicKey.Id, expiresUnixMs);
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var kept) && !StoreSession.NeedsRenewal(kept.NotAfter, time)) return kept;
        }

        // Signed outside the lock: another store's lookup of the cache does not wait for this signature.
        var notAfter = time.GetUtcNow() + StoreDelegations.Lifetime;
        (StoreDelegation, DateTimeOffset) fresh = (StoreDelegations.Create(owner, uploader, expiresUnixMs, notAfter), notAfter);
        lock (_lock)
        {
            if (_entries.Count >= Capacity && !_entries.ContainsKey(key))
            {
                foreach (var due in _entries.Where(e => StoreSession.NeedsRenewal(e.Value.NotAfter, time)).Select(e => e.Key).ToList())
                    _entries.Remove(due);
                if (_entries.Count >= Capacity) _entries.Clear();
            }

            _entries[key] = fresh;
        }

        return fresh;
    }
}
