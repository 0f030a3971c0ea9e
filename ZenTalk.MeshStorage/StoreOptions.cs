namespace ZenTalk.MeshStorage;

/// <summary>Per-file choices for <see cref="IMeshStore.StoreAsync"/>. Null members take the node's defaults.</summary>
public sealed class StoreOptions
{
    /// <summary>When set, every node drops the file's shards after this time. Null (the default) keeps it until deleted.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Plaintext bytes per segment; null uses the node's configured segment size.</summary>
    public int? SegmentSize { get; init; }

    /// <summary>
    /// The "happy" threshold: a store succeeds only when every segment has at least this many shards placed.
    /// Null means data shards + 1 (11 of 15 by default), so one more loss never makes a fresh file unreadable.
    /// </summary>
    public int? MinimumShardsPerSegment { get; init; }
}
