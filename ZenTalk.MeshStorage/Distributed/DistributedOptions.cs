namespace ZenTalk.MeshStorage.Distributed;

/// <summary>Settings of the Distributed layer, filled by the composition root from <c>MeshNodeOptions</c>.</summary>
internal sealed class DistributedOptions
{
    /// <summary>Reed-Solomon data shards per segment (k).</summary>
    public int DataShards { get; init; } = 10;

    /// <summary>Reed-Solomon parity shards per segment (m).</summary>
    public int ParityShards { get; init; } = 5;

    /// <summary>Plaintext bytes per segment.</summary>
    public int SegmentSize { get; init; } = Format.FileCodecOptions.DefaultSegmentSize;

    /// <summary>Deadline of one shard call (PUT, GET, HAS, DELETE) to one holder; a slower holder is skipped.</summary>
    public TimeSpan ShardTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline of one small record call (STORE_VALUE) to one node.</summary>
    public TimeSpan RecordTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Segments being placed on the network at once during a store (each holds one copy of its shards).</summary>
    public int SegmentsInFlight { get; init; } = 8;

    /// <summary>
    /// Segments a read decodes ahead of its reader. More than the network needs at once: a segment that waits for a
    /// resent shard does not stop the requests of those behind it (the window below bounds the network).
    /// </summary>
    public int ReadSegmentsAhead { get; init; } = 8;

    /// <summary>
    /// Shard bytes one read asks holders for at once (1.5 MiB by default: a 100 Mbit/s downlink's bandwidth-delay
    /// product at a 50 ms round trip, 625 KB, plus a queue of as much, with room for holders that answer late).
    /// </summary>
    public long ReadBytesInFlight { get; init; } = 3L * 512 * 1024;

    /// <summary>How far a delete request's timestamp may be from a holder's clock.</summary>
    public TimeSpan DeleteWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a holder keeps a shard hold that no live manifest it knows references (24 h by default): long enough
    /// for a large streamed upload to finish and send its manifest, whose holds until then rest on its store delegation.
    /// </summary>
    public TimeSpan UnreferencedGrace { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Bytes of segment buffers this node's reads and repairs hold at once (MeshNodeOptions.MaxDecodeMemoryBytes).</summary>
    public long MaxDecodeMemoryBytes { get; init; } = DefaultMaxDecodeMemoryBytes;

    public const long DefaultMaxDecodeMemoryBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Segments of one file a repair pass checks at most; the next pass goes on where this one stopped. A manifest
    /// lists up to 65,536 segments, and checking one costs a lookup and a HAS_SHARDS per holder.
    /// </summary>
    public int RepairSegmentsPerFile { get; init; } = 256;

    /// <summary>
    /// Files a repair pass checks at once (4 by default). Each check is mostly waiting for the network (the CID's
    /// lookup, HAS_SHARDS, fetches); rebuilds still share the node's decode budget (<see cref="MaxDecodeMemoryBytes"/>).
    /// </summary>
    public int RepairFilesInParallel { get; init; } = 4;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
