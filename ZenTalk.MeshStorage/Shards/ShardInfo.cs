using System.Collections.Immutable;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>One entry of the shard index.</summary>
/// <param name="Hash">SHA-256 of the shard bytes: its key.</param>
/// <param name="Length">The shard's length in bytes.</param>
/// <param name="StoredAt">When this node first stored it.</param>
/// <param name="Holds">The owners' holds that keep it (1 to <see cref="PackRecord.MaxHolds"/>, one per owner).</param>
internal sealed record ShardInfo(Sha256Hash Hash, long Length, DateTimeOffset StoredAt, ImmutableArray<ShardHold> Holds)
{
    /// <summary>No hold on it is live any more.</summary>
    public bool IsExpired(DateTimeOffset now)
    {
        foreach (var hold in Holds)
            if (!hold.IsExpired(now)) return false;
        return true;
    }

    /// <summary>The latest expiry of its holds; null when one of them never expires.</summary>
    public DateTimeOffset? ExpiresAt
    {
        get
        {
            DateTimeOffset? latest = DateTimeOffset.MinValue;
            foreach (var hold in Holds)
            {
                if (hold.ExpiresAt is not { } e) return null;
                if (e > latest) latest = e;
            }

            return latest;
        }
    }

    /// <summary>The hold of <paramref name="owner"/>, if it has one.</summary>
    public ShardHold? HoldOf(Sha256Hash owner)
    {
        foreach (var hold in Holds)
            if (hold.Owner == owner) return hold;
        return null;
    }

    public bool Equals(ShardInfo? other) => other is not null && Hash == other.Hash && Length == other.Length
        && StoredAt == other.StoredAt && Holds.SequenceEqual(other.Holds);

    public override int GetHashCode() => HashCode.Combine(Hash, Length, StoredAt, Holds.Length);
}
