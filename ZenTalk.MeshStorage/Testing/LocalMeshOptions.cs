namespace ZenTalk.MeshStorage.Testing;

/// <summary>Settings of a <see cref="LocalMesh"/>.</summary>
public sealed class LocalMeshOptions
{
    /// <summary>
    /// Where the nodes' directories go (node-0, node-1, ...). Null (the default) uses a new temporary directory that
    /// is deleted when the mesh is disposed; a directory given here is kept.
    /// </summary>
    public string? RootDirectory { get; set; }

    /// <summary>Reed-Solomon data shards per segment. Default 10.</summary>
    public int DataShards { get; set; } = 10;

    /// <summary>Reed-Solomon parity shards per segment. Default 5.</summary>
    public int ParityShards { get; set; } = 5;

    /// <summary>Plaintext bytes per segment. Default 1 MiB.</summary>
    public int SegmentSize { get; set; } = Format.FileCodecOptions.DefaultSegmentSize;

    /// <summary>How often each node's repair service runs. Default 10 minutes; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.</summary>
    public TimeSpan RepairInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Per-node shard quota in bytes; null keeps the node default (<see cref="MeshNodeOptions.DefaultQuotaBytes"/>).</summary>
    public long? QuotaBytes { get; set; }

    /// <summary>Short DHT and shard deadlines (tests: a stopped node is skipped in well under a second).</summary>
    internal bool FastTimeouts { get; set; }

    /// <summary>How far a delete request's timestamp may be from a node's clock; null keeps the node default (5 minutes).
    /// Tests shorten it to replay a captured delete after its window.</summary>
    internal TimeSpan? DeleteWindow { get; set; }

    /// <summary>How long a node keeps a shard hold no live manifest references; null keeps the node default (24 h).</summary>
    internal TimeSpan? UnreferencedGrace { get; set; }

    /// <summary>
    /// Fault-injection hook (tests, hardening tool): given a node's index (clients: -1, -2, ...), the wrapper for that
    /// node's outbound TCP streams (see MeshNodeOptions.OutboundTransport), or null for none.
    /// </summary>
    internal Func<int, Func<Stream, System.Net.IPEndPoint, Stream>?>? OutboundTransportFor { get; set; }

    /// <summary>Applies these settings to one node's options.</summary>
    internal void ApplyTo(MeshNodeOptions node)
    {
        node.DataShards = DataShards;
        node.ParityShards = ParityShards;
        node.SegmentSize = SegmentSize;
        node.RepairInterval = RepairInterval;
        if (QuotaBytes is { } quota) node.QuotaBytes = quota;
        if (DeleteWindow is { } window) node.DeleteWindow = window;
        if (UnreferencedGrace is { } grace) node.UnreferencedGrace = grace;
        if (FastTimeouts)
        {
            node.RequestTimeout = TimeSpan.FromSeconds(2);
            node.ShardTimeout = TimeSpan.FromSeconds(3);
        }
    }
}
