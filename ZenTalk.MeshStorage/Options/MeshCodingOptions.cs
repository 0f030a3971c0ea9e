namespace ZenTalk.MeshStorage;

/// <summary>How a node encodes the files it stores, and how much memory its reads may hold (<see cref="MeshNodeOptions.Coding"/>).</summary>
public sealed class MeshCodingOptions
{
    /// <summary>The default of <see cref="DataShards"/>: 10.</summary>
    public const int DefaultDataShards = 10;

    /// <summary>The default of <see cref="ParityShards"/>: 5.</summary>
    public const int DefaultParityShards = 5;

    /// <summary>The default of <see cref="SegmentSize"/>: 1 MiB (docs/benchmarks.md).</summary>
    public const int DefaultSegmentSize = Format.FileCodecOptions.DefaultSegmentSize;

    /// <summary>The default of <see cref="MaxDecodeMemoryBytes"/>: 64 MiB.</summary>
    public const long DefaultMaxDecodeMemoryBytes = Distributed.DistributedOptions.DefaultMaxDecodeMemoryBytes;

    /// <summary>Reed-Solomon data shards per segment (k): any k shards rebuild a segment. Default 10.</summary>
    public int DataShards { get; set; } = DefaultDataShards;

    /// <summary>Reed-Solomon parity shards per segment (m): up to m holders of a segment may be lost. Default 5.</summary>
    public int ParityShards { get; set; } = DefaultParityShards;

    /// <summary>Plaintext bytes per segment for files this node stores. Default 1 MiB.</summary>
    public int SegmentSize { get; set; } = DefaultSegmentSize;

    /// <summary>
    /// The most memory this node's file reads and repairs hold at once for segment buffers, whatever the manifests
    /// they work on ask for (a manifest chooses its segment and shard sizes). Reads share it: each takes up to four
    /// segments' worth, and waits when it is spent. A file whose one segment needs more than this (with the default
    /// 1 MiB segments, 10 + 5 shards, a segment takes 2 MiB) is refused with a clear error, and repair skips it.
    /// Default 64 MiB.
    /// </summary>
    public long MaxDecodeMemoryBytes { get; set; } = DefaultMaxDecodeMemoryBytes;

    internal MeshCodingOptions Clone() => (MeshCodingOptions)MemberwiseClone();
}
