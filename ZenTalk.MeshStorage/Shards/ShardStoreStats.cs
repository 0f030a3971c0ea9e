namespace ZenTalk.MeshStorage.Shards;

/// <summary>A snapshot of a shard store's counters.</summary>
/// <param name="ShardCount">Shards currently stored.</param>
/// <param name="StoredBytes">Their total payload bytes (what the quota counts).</param>
/// <param name="QuotaBytes">The configured byte quota.</param>
/// <param name="QuarantinedSinceOpen">Shards moved to quarantine because their bytes no longer matched their hash.</param>
/// <param name="CollectedSinceOpen">Expired shards removed by garbage collection.</param>
internal readonly record struct ShardStoreStats(
    long ShardCount, long StoredBytes, long QuotaBytes, long QuarantinedSinceOpen, long CollectedSinceOpen);
