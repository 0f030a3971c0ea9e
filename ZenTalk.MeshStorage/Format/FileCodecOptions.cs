namespace ZenTalk.MeshStorage.Format;

/// <summary>Settings of the file pipeline (<see cref="FileEncoder"/>, <see cref="FileDecoder"/>).</summary>
internal sealed class FileCodecOptions
{
    /// <summary>
    /// Plaintext bytes per segment. Default 1 MiB: measured in docs/benchmarks.md ("File pipeline"), larger segments
    /// gain no throughput while growing memory and manifest-independent shard sizes; smaller ones lose throughput to
    /// per-segment costs and grow the manifest (480 bytes of shard hashes per segment).
    /// </summary>
    public int SegmentSize { get; init; } = DefaultSegmentSize;

    public const int DefaultSegmentSize = 1024 * 1024;

    /// <summary>Reed-Solomon data shards per segment (k). Default 10.</summary>
    public int DataShards { get; init; } = 10;

    /// <summary>Reed-Solomon parity shards per segment (m). Default 5: any 10 of 15 rebuild a segment.</summary>
    public int ParityShards { get; init; } = 5;

    /// <summary>
    /// Segments processed at once. Default: the processor count, capped at 4 — enough to overlap reading, AES-GCM,
    /// erasure coding and hashing of neighbouring segments; memory is about (this + 2) × 1.5 segments.
    /// </summary>
    public int MaxSegmentsInFlight { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>When nodes may drop the file's shards; null keeps them until deleted.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The clock for the manifest's creation time.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Decoding only: the memory the decoder's segment buffers take from (shared by every read of a node); null
    /// bounds a read only by <see cref="MaxSegmentsInFlight"/>. A file whose one segment needs more than the whole
    /// budget is refused; otherwise a read holds as many segments as its share allows, and waits for one when the
    /// budget is spent.
    /// </summary>
    public IMemoryBudget? MemoryBudget { get; init; }

    /// <summary>
    /// Decoding only: a segment whose shards all arrive is verified by its AES-GCM tag alone, without hashing the
    /// shards; when the tag fails, the segment is read again with every shard hash-checked. Only for a reader that is
    /// the content key's sole holder (<see cref="RetrieveOptions.SoleKeyHolder"/>): anyone else with the key could seal
    /// other bytes that pass. Default false: every shard is checked against the manifest.
    /// </summary>
    public bool VerifyByTag { get; init; }

    /// <summary>Decoding only: called when a segment's tag failed under <see cref="VerifyByTag"/> and it is read again
    /// with its shards checked (a metric); may be null.</summary>
    public Action? VerifiedAgain { get; init; }

    internal void Validate()
    {
        if (SegmentSize is < Manifest.MinSegmentSize or > Manifest.MaxSegmentSize)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize, $"The segment size must be {Manifest.MinSegmentSize} to {Manifest.MaxSegmentSize} bytes.");
        }

        if (DataShards < 1 || ParityShards < 1 || DataShards + ParityShards > Manifest.MaxTotalShards)
        {
            throw new ArgumentOutOfRangeException(nameof(DataShards), $"Need at least 1 data and 1 parity shard, and at most {Manifest.MaxTotalShards} in all.");
        }

        if (Manifest.ShardSizeFor(SegmentSize, DataShards) > Manifest.MaxShardSize)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSize), SegmentSize, $"Segments of {SegmentSize} bytes over {DataShards} data shards make shards larger than the {Manifest.MaxShardSize} bytes one frame carries.");
        }

        if (MaxSegmentsInFlight < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSegmentsInFlight), MaxSegmentsInFlight, "At least one segment must be in flight.");
        }
    }
}
