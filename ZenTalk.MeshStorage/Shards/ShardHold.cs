using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One owner's claim on a stored shard: the node keeps the shard while some hold on it is live, and each hold's bytes
/// are accounted to its owner, to the peer that sent it and to that peer's address prefix (docs/security.md,
/// "Admission and accounting"). A hold comes from an owner-signed authority (a manifest, or a store delegation to the
/// node that sent it), so its expiry is the one the owner signed: a put by anyone else adds that one's own hold and
/// never moves this one.
/// </summary>
/// <param name="Owner">SHA-256 of the owner's public key (<see cref="OwnerPublicKey.Id"/>); zero = unknown (not limited
/// per owner, and referenced by any live manifest that lists the shard).</param>
/// <param name="ExpiresAt">When the hold ends, as the owner signed it; null = never.</param>
/// <param name="GrantedAt">When this node took the hold: a hold no live manifest references is dropped a grace period
/// after it.</param>
/// <param name="Sender">The node id of the peer that sent the shard; zero = unknown.</param>
/// <param name="SenderPrefix">That peer's address prefix (IPv4 /24 or IPv6 /48) in IPv6 form, IPv4 as ::ffff:a.b.c.0;
/// zero = unknown.</param>
internal readonly record struct ShardHold(Sha256Hash Owner, DateTimeOffset? ExpiresAt, DateTimeOffset GrantedAt, NodeId Sender, UInt128 SenderPrefix)
{
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expires && expires <= now;

    /// <summary>This hold with <paramref name="renewed"/>'s expiry and grant time where they are later (null = never is latest).</summary>
    public ShardHold Renew(ShardHold renewed) => this with
    {
        ExpiresAt = ExpiresAt is null || renewed.ExpiresAt is null ? null : (ExpiresAt > renewed.ExpiresAt ? ExpiresAt : renewed.ExpiresAt),
        GrantedAt = GrantedAt > renewed.GrantedAt ? GrantedAt : renewed.GrantedAt,
    };
}
