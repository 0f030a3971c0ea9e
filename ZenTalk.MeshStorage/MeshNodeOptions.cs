using System.Net;

namespace ZenTalk.MeshStorage;

/// <summary>Settings of a <see cref="MeshNode"/>. Only <see cref="DataDirectory"/> must be set; every other member has a documented default.</summary>
public sealed class MeshNodeOptions
{
    /// <summary>The IP address to listen on. Default 127.0.0.1 (this machine only); use a LAN address to serve other devices.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The TCP port to listen on. Default 0: the operating system picks a free port (see <see cref="MeshNode.Endpoint"/>).</summary>
    public int Port { get; set; }

    /// <summary>Required: where the node keeps its identity key, its shards and the file records it holds. Created when missing.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Peers to join through, as "host:port" or "host:port@nodeid" (the id, hex or base32, is then checked in the TLS handshake).</summary>
    public IList<string> BootstrapPeers { get; set; } = new List<string>();

    /// <summary>Whether to announce this node and discover peers on the local network by mDNS. Default false.</summary>
    public bool EnableMdns { get; set; }

    /// <summary>
    /// The key of the private network this node belongs to, or null (the default) for the open mesh. With a key, the
    /// node admits only peers that prove in the handshake that they hold the same key, and connects only to such peers:
    /// any other is refused before it can make a request (docs/security.md, "Private network mode"). Give every node of
    /// the network the same key file (<see cref="ZenTalk.MeshStorage.PrivateNetworkKey.Load"/>).
    /// </summary>
    public PrivateNetworkKey? PrivateNetworkKey { get; set; }

    /// <summary>The quota a node has unless told otherwise: 10 GiB.</summary>
    public const long DefaultQuotaBytes = Shards.ShardStoreOptions.DefaultQuotaBytes;

    /// <summary>
    /// The most shard bytes this node stores for the mesh. Default <see cref="DefaultQuotaBytes"/> (10 GiB). One owner
    /// key and one peer may account for an eighth of it each, one address prefix (IPv4 /24, IPv6 /48) for a quarter
    /// (docs/security.md, "Admission and accounting").
    /// </summary>
    public long QuotaBytes { get; set; } = DefaultQuotaBytes;

    /// <summary>The most shard bytes one owner key's holds may account for; null = an eighth of the quota.</summary>
    internal long? MaxBytesPerOwner { get; set; }

    /// <summary>The most shard bytes one peer may make this node keep; null = an eighth of the quota.</summary>
    internal long? MaxBytesPerPeer { get; set; }

    /// <summary>
    /// The most shard bytes peers of one address prefix may make this node keep; null = a quarter of the quota, or the
    /// whole quota on a loopback listener (every peer of a local cluster has the same prefix).
    /// </summary>
    internal long? MaxBytesPerAddressPrefix { get; set; }

    /// <summary>How long a shard hold that no live manifest references is kept (a streamed upload's, before its manifest arrives). Default 24 h.</summary>
    internal TimeSpan UnreferencedGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How often the repair service checks the files this node is responsible for (rebuilding missing shards) and
    /// drops shards of deleted or expired files. Default 10 minutes; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// </summary>
    public TimeSpan RepairInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Reed-Solomon data shards per segment (k): any k shards rebuild a segment. Default 10.</summary>
    public int DataShards { get; set; } = 10;

    /// <summary>Reed-Solomon parity shards per segment (m): up to m holders of a segment may be lost. Default 5.</summary>
    public int ParityShards { get; set; } = 5;

    /// <summary>Plaintext bytes per segment for files this node stores. Default 1 MiB (see docs/benchmarks.md).</summary>
    public int SegmentSize { get; set; } = Format.FileCodecOptions.DefaultSegmentSize;

    /// <summary>
    /// Whether this node stores shards and records for others. Default true. False makes a client: it joins the
    /// mesh to store and retrieve its own files (e.g. a fresh device restoring a backup) but is never chosen as a
    /// holder and never enters other nodes' routing tables.
    /// </summary>
    public bool StoreForOthers { get; set; } = true;

    /// <summary>
    /// The most memory this node's file reads and repairs hold at once for segment buffers, whatever the manifests
    /// they work on ask for (a manifest chooses its segment and shard sizes). Reads share it: each takes up to four
    /// segments' worth, and waits when it is spent. A file whose one segment needs more than this (with the default
    /// 1 MiB segments, 10 + 5 shards, a segment takes 2 MiB) is refused with a clear error, and repair skips it.
    /// Default 64 MiB.
    /// </summary>
    public long MaxDecodeMemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Deadline of one DHT request to one peer (tests shorten it so dead peers are skipped quickly).</summary>
    internal TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Deadline of one shard call to one holder.</summary>
    internal TimeSpan ShardTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How far a delete request's timestamp may be from a holder's clock.</summary>
    internal TimeSpan DeleteWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>First wait before a node that reached none of its bootstrap peers tries them again (then doubling, up to a minute).</summary>
    internal TimeSpan BootstrapRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the DHT drops expired records, refreshes buckets and republishes.</summary>
    internal TimeSpan DhtMaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether a node listening on a loopback address relaxes the limits that a local cluster would trip (per-address
    /// and per-prefix connection limits for loopback peers, the routing table's subnet limit). Default true; tests turn
    /// it off to attack a loopback node with the limits a network-facing node has. No effect on other listeners.
    /// </summary>
    internal bool RelaxLoopbackLimits { get; set; } = true;

    /// <summary>Fault-injection hook (tests, hardening tool): wraps each outbound connection's TCP stream; see RpcOptions.OutboundTransport.</summary>
    internal Func<Stream, IPEndPoint, Stream>? OutboundTransport { get; set; }

    /// <summary>The clock (tests use a fake one).</summary>
    internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>A copy, so a node never sees later changes to the caller's object.</summary>
    internal MeshNodeOptions Clone()
    {
        var copy = (MeshNodeOptions)MemberwiseClone();
        copy.BootstrapPeers = [.. BootstrapPeers];
        return copy;
    }
}
