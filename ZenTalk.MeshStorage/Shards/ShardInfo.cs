using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>One entry of the shard index.</summary>
/// <param name="Hash">SHA-256 of the shard bytes: its key.</param>
/// <param name="Length">The shard's length in bytes.</param>
/// <param name="StoredAt">When this node first stored it.</param>
/// <param name="Metadata">File, owner and expiry.</param>
internal sealed record ShardInfo(Sha256Hash Hash, long Length, DateTimeOffset StoredAt, ShardMetadata Metadata)
{
    public bool IsExpired(DateTimeOffset now) => Metadata.ExpiresAt is { } expires && expires <= now;
}
