using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The uploader's side of <see cref="StoreDelegations"/> for one store: the owner key's delegation to this node, signed
/// once (and again when a store outlasts it), carried by every put of the store's segments. Thread-safe: segments are
/// placed side by side.
/// </summary>
internal sealed class StoreSession
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromHours(1);

    private readonly OwnerKey _owner;
    private readonly NodeId _uploader;
    private readonly long _expiresUnixMs;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private StoreDelegation _delegation;
    private DateTimeOffset _notAfter;

    public StoreSession(OwnerKey owner, NodeId uploader, long expiresUnixMs, TimeProvider time)
    {
        _owner = owner;
        _uploader = uploader;
        _expiresUnixMs = expiresUnixMs;
        _time = time;
        (_delegation, _notAfter) = Start();
    }

    /// <summary>A delegation that lasts at least an hour more.</summary>
    public StoreDelegation Delegation()
    {
        lock (_lock)
        {
            if (_time.GetUtcNow() > _notAfter - RenewBefore) (_delegation, _notAfter) = Start();
            return _delegation;
        }
    }

    private (StoreDelegation, DateTimeOffset) Start()
    {
        var notAfter = _time.GetUtcNow() + StoreDelegations.Lifetime;
        return (StoreDelegations.Create(_owner, _uploader, _expiresUnixMs, notAfter), notAfter);
    }
}
