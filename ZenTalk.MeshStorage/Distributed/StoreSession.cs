using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The uploader's side of <see cref="StoreGrants"/> for one store: an ephemeral ECDSA P-256 key that the owner key
/// delegated to (one owner signature), and a grant per segment signed with it (one ECDSA signature, about a
/// thirtieth of an RSA-3072 one). A store that outlasts its delegation takes a new key and delegation. Thread-safe:
/// segments are placed side by side.
/// </summary>
internal sealed class StoreSession : IDisposable
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromHours(1);

    private readonly OwnerKey _owner;
    private readonly long _expiresUnixMs;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private ECDsa _key;
    private StoreDelegation _delegation;
    private byte[] _digest;
    private DateTimeOffset _notAfter;

    public StoreSession(OwnerKey owner, long expiresUnixMs, TimeProvider time)
    {
        _owner = owner;
        _expiresUnixMs = expiresUnixMs;
        _time = time;
        (_key, _delegation, _digest, _notAfter) = Start();
    }

    /// <summary>The grant for one segment's shards, under a delegation that lasts at least an hour more.</summary>
    public SegmentGrant Grant(int shardSize, IReadOnlyList<Sha256Hash> hashes)
    {
        var bytes = new byte[hashes.Count * Sha256Hash.Size];
        for (int j = 0; j < hashes.Count; j++) hashes[j].CopyTo(bytes.AsSpan(j * Sha256Hash.Size));
        lock (_lock)
        {
            if (_time.GetUtcNow() > _notAfter - RenewBefore)
            {
                _key.Dispose();
                (_key, _delegation, _digest, _notAfter) = Start();
            }

            var signature = _key.SignData(StoreGrants.GrantPayload(_digest, (uint)shardSize, bytes), HashAlgorithmName.SHA256);
            return new SegmentGrant
            {
                Delegation = _delegation,
                ShardSize = (uint)shardSize,
                ShardHashes = UnsafeByteOperations.UnsafeWrap(bytes),
                Signature = UnsafeByteOperations.UnsafeWrap(signature),
            };
        }
    }

    private (ECDsa, StoreDelegation, byte[], DateTimeOffset) Start()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var notAfter = _time.GetUtcNow() + StoreGrants.DelegationLifetime;
        var delegation = StoreGrants.Delegate(_owner, key, _expiresUnixMs, notAfter);
        return (key, delegation, SHA256.HashData(StoreGrants.DelegationPayload(delegation)), notAfter);
    }

    public void Dispose()
    {
        lock (_lock) _key.Dispose();
    }
}
