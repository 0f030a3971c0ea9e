using System.Net;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage;

/// <summary>
/// Settings of a <see cref="MeshNode"/>: the node's own (where it keeps its data, where it listens, whom it joins
/// through) at the top, the rest in sections (<see cref="Coding"/>, <see cref="Storage"/>, <see cref="Dht"/>,
/// <see cref="Rpc"/>, <see cref="Repair"/>). Only <see cref="DataDirectory"/> must be set; every other member has a
/// documented default, defined once, in these types.
/// </summary>
/// <remarks>
/// <para>
/// Sections are objects the options own, so an initializer sets their members in place:
/// <c>new MeshNodeOptions { DataDirectory = dir, Coding = { DataShards = 4, ParityShards = 2 } }</c>. Configuration
/// binds the same shape (e.g. <c>Mesh:Storage:QuotaBytes</c>, <c>Mesh:Dht:RequestTimeout</c>).
/// </para>
/// <para>
/// <see cref="MeshNode.StartAsync"/> checks them with <see cref="Validate"/> and takes a copy, so later changes to this
/// object do not reach a running node.
/// </para>
/// </remarks>
public sealed class MeshNodeOptions
{
    /// <summary>
    /// The most bytes a file record's value may have: a manifest lists 480 bytes of shard hashes per segment (10 + 5
    /// shards), so 3 MiB covers about 6,500 segments (6.5 GB at 1 MiB segments).
    /// </summary>
    private const int MaxRecordValueSize = 3 * 1024 * 1024;

    /// <summary>A whole DHT lookup's deadline, in request deadlines: a lookup is a few rounds of parallel requests.</summary>
    private const int LookupTimeoutInRequests = 6;

    /// <summary>Required: where the node keeps its identity key, its shards and the file records it holds. Created when missing.</summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>The IP address to listen on. Default 127.0.0.1 (this machine only); use a LAN address to serve other devices.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The TCP port to listen on. Default 0: the operating system picks a free port (see <see cref="MeshNode.Endpoint"/>).</summary>
    public int Port { get; set; }

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

    /// <summary>
    /// Whether this node stores shards and records for others. Default true. False makes a client: it joins the
    /// mesh to store and retrieve its own files (e.g. a fresh device restoring a backup) but is never chosen as a
    /// holder and never enters other nodes' routing tables.
    /// </summary>
    public bool StoreForOthers { get; set; } = true;

    /// <summary>Where the node logs; null (the default) logs nothing. Every logger of the node comes from it.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock the node's deadlines, expiries and delete windows use. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Erasure coding and read memory.</summary>
    public MeshCodingOptions Coding { get; private set; } = new();

    /// <summary>Quota, per-owner/peer/prefix limits and hold lifetimes of a storing node.</summary>
    public MeshShardStorageOptions Storage { get; private set; } = new();

    /// <summary>DHT deadlines and maintenance.</summary>
    public MeshDhtOptions Dht { get; private set; } = new();

    /// <summary>Calls to other nodes.</summary>
    public MeshRpcOptions Rpc { get; private set; } = new();

    /// <summary>The background repair.</summary>
    public MeshRepairOptions Repair { get; private set; } = new();

    /// <summary>
    /// Whether a node listening on a loopback address relaxes the limits that a local cluster would trip (per-address
    /// and per-prefix connection limits for loopback peers, the routing table's subnet limit). Default true; tests turn
    /// it off to attack a loopback node with the limits a network-facing node has. No effect on other listeners.
    /// </summary>
    internal bool RelaxLoopbackLimits { get; set; } = true;

    /// <summary>Fault-injection hook (tests, hardening tool): wraps each outbound connection's TCP stream; see RpcOptions.OutboundTransport.</summary>
    internal Func<Stream, IPEndPoint, Stream>? OutboundTransport { get; set; }

    /// <summary>Checks every value; the error names the property (e.g. <c>Coding.DataShards</c>) and what it must be.</summary>
    /// <exception cref="ArgumentException">A value is missing, out of range, or inconsistent with another.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
            throw Invalid(nameof(DataDirectory), "is required: the node keeps its key and shards there.");
        if (!IPAddress.TryParse(ListenAddress, out _))
            throw Invalid(nameof(ListenAddress), $"'{ListenAddress}' is not an IP address.");
        if (Port is < 0 or > 65535) throw Invalid(nameof(Port), $"{Port} is out of range 0..65535.");
        if (BootstrapPeers is null) throw Invalid(nameof(BootstrapPeers), "cannot be null (leave it empty for none).");
        if (TimeProvider is null) throw Invalid(nameof(TimeProvider), "cannot be null.");

        var c = Coding;
        if (c.DataShards < 1) throw Invalid("Coding.DataShards", $"{c.DataShards} must be at least 1.");
        if (c.ParityShards < 1) throw Invalid("Coding.ParityShards", $"{c.ParityShards} must be at least 1.");
        if (c.DataShards + c.ParityShards > Manifest.MaxTotalShards)
            throw Invalid("Coding.ParityShards", $"Coding.DataShards + Coding.ParityShards ({c.DataShards + c.ParityShards}) must be at most {Manifest.MaxTotalShards}.");
        if (c.SegmentSize is < Manifest.MinSegmentSize or > Manifest.MaxSegmentSize)
            throw Invalid("Coding.SegmentSize", $"{c.SegmentSize} must be {Manifest.MinSegmentSize} to {Manifest.MaxSegmentSize} bytes.");
        if (Manifest.ShardSizeFor(c.SegmentSize, c.DataShards) > Manifest.MaxShardSize)
            throw Invalid("Coding.SegmentSize", $"{c.SegmentSize} / {c.DataShards} data shards makes shards larger than one RPC frame carries; use a smaller segment or more data shards.");
        long ownSegment = FileDecoder.BufferCost(Manifest.SegmentBufferSizeFor(c.SegmentSize, c.DataShards, c.DataShards + c.ParityShards));
        if (ownSegment > c.MaxDecodeMemoryBytes)
            throw Invalid("Coding.MaxDecodeMemoryBytes", $"{c.MaxDecodeMemoryBytes} is less than one segment of this node's own files needs to decode ({ownSegment} bytes).");

        var s = Storage;
        if (s.QuotaBytes < 0) throw Invalid("Storage.QuotaBytes", $"{s.QuotaBytes} cannot be negative.");
        if (s.MaxBytesPerOwner < 0) throw Invalid("Storage.MaxBytesPerOwner", "cannot be negative.");
        if (s.MaxBytesPerPeer < 0) throw Invalid("Storage.MaxBytesPerPeer", "cannot be negative.");
        if (s.MaxBytesPerAddressPrefix < 0) throw Invalid("Storage.MaxBytesPerAddressPrefix", "cannot be negative.");
        Positive("Storage.UnreferencedGrace", s.UnreferencedGrace);
        Positive("Storage.DeleteWindow", s.DeleteWindow);

        Positive("Dht.RequestTimeout", Dht.RequestTimeout);
        Positive("Dht.MaintenanceInterval", Dht.MaintenanceInterval);
        Positive("Dht.BootstrapRetryInterval", Dht.BootstrapRetryInterval);
        Positive("Rpc.ShardTimeout", Rpc.ShardTimeout);
        if (Repair.Interval <= TimeSpan.Zero && Repair.Interval != Timeout.InfiniteTimeSpan)
            throw Invalid("Repair.Interval", "must be positive (or Timeout.InfiniteTimeSpan to turn repair off).");
    }

    private static void Positive(string property, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) throw Invalid(property, $"{value} must be positive.");
    }

    private static ArgumentException Invalid(string property, string problem) =>
        new($"MeshNodeOptions.{property} {problem}", property);

    /// <summary>A deep copy, so a node never sees later changes to the caller's object.</summary>
    internal MeshNodeOptions Clone()
    {
        var copy = (MeshNodeOptions)MemberwiseClone();
        copy.BootstrapPeers = [.. BootstrapPeers];
        copy.Coding = Coding.Clone();
        copy.Storage = Storage.Clone();
        copy.Dht = Dht.Clone();
        copy.Rpc = Rpc.Clone();
        copy.Repair = Repair.Clone();
        return copy;
    }

    // The layers' own settings, derived here and nowhere else. loopbackCluster: a loopback listener with
    // RelaxLoopbackLimits (every node of a local cluster connects from 127.0.0.1 and sits in one /24).

    internal RpcOptions ToRpcOptions(bool loopbackCluster) => new()
    {
        DefaultCallTimeout = Rpc.ShardTimeout,
        ExemptLoopbackPeers = loopbackCluster,
        OutboundTransport = OutboundTransport,
        PrivateNetwork = PrivateNetworkKey is { } networkKey ? new PrivateNetwork(networkKey.Secret) : null,
    };

    internal DhtOptions ToDhtOptions(bool loopbackCluster) => new()
    {
        RequestTimeout = Dht.RequestTimeout,
        LookupTimeout = Dht.RequestTimeout * LookupTimeoutInRequests,
        AllowLoopbackClusters = loopbackCluster,
        MaintenanceInterval = Dht.MaintenanceInterval,
        MaxRecordValueSize = MaxRecordValueSize,
    };

    internal DistributedOptions ToDistributedOptions() => new()
    {
        DataShards = Coding.DataShards,
        ParityShards = Coding.ParityShards,
        SegmentSize = Coding.SegmentSize,
        MaxDecodeMemoryBytes = Coding.MaxDecodeMemoryBytes,
        ShardTimeout = Rpc.ShardTimeout,
        RecordTimeout = Dht.RequestTimeout,
        DeleteWindow = Storage.DeleteWindow,
        UnreferencedGrace = Storage.UnreferencedGrace,
        TimeProvider = TimeProvider,
    };

    internal ShardStoreOptions ToShardStoreOptions(NodeId self, bool loopbackListener, ILogger logger) => new()
    {
        Directory = Path.Combine(DataDirectory, "shards"),
        QuotaBytes = Storage.QuotaBytes,
        MaxBytesPerOwner = Storage.MaxBytesPerOwner,
        MaxBytesPerSender = Storage.MaxBytesPerPeer,
        // A loopback listener's peers all share 127.0.0.0/24 (a local cluster), like the connection limit per address.
        MaxBytesPerSenderPrefix = Storage.MaxBytesPerAddressPrefix ?? (loopbackListener ? Storage.QuotaBytes : null),
        UnlimitedSender = self,
        TimeProvider = TimeProvider,
        Logger = logger,
    };
}
