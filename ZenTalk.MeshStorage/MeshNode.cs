using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage;

/// <summary>
/// A running mesh node: its TLS listener, DHT, shard store, file records and repair service, and the
/// <see cref="IMeshStore"/> to store and retrieve files through it. Start one with <see cref="StartAsync"/>; stop it
/// with <see cref="StopAsync"/> or by disposing it. Everything it holds is in its data directory, so a node started
/// again from the same directory has the same id and still serves its shards.
/// </summary>
public sealed class MeshNode : IAsyncDisposable
{
    private readonly MeshNodeOptions _options;
    private readonly NodeIdentity _identity;
    private readonly DhtNetworkNode _network;
    private readonly ShardStore? _shards;
    private readonly FileIndex? _files;
    private readonly ShardRequestHandler? _handler;
    private readonly MeshStore _store;
    private readonly RepairService? _repair;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private Task _repairLoop = Task.CompletedTask;
    private Task _joining = Task.CompletedTask;
    private int _stopped;

    private MeshNode(MeshNodeOptions options, NodeIdentity identity, DhtNetworkNode network, ShardStore? shards, FileIndex? files,
        ShardRequestHandler? handler, MeshStore store, RepairService? repair, ILogger logger)
    {
        _options = options;
        _identity = identity;
        _network = network;
        _shards = shards;
        _files = files;
        _handler = handler;
        _store = store;
        _repair = repair;
        _logger = logger;
    }

    /// <summary>The store: files placed across the mesh through this node.</summary>
    public IMeshStore Store => _store;

    /// <summary>This node's id (SHA-256 of its public key, which lives in the data directory).</summary>
    public NodeId Id => _identity.Id;

    /// <summary>The address this node listens on, as host:port (with the port the OS chose when the options said 0).</summary>
    public string Endpoint => _network.Server.LocalEndPoint.ToString();

    /// <summary>The data directory.</summary>
    public string DataDirectory => _options.DataDirectory;

    /// <summary>This node as a bootstrap peer for others: "host:port@nodeid".</summary>
    public string BootstrapAddress => $"{Endpoint}@{Id}";

    /// <summary>Whether this node stores shards for others.</summary>
    public bool StoresForOthers => _shards is not null;

    /// <summary>Whether <see cref="StopAsync"/> was called (a stopped node has no endpoint to offer peers).</summary>
    internal bool IsStopped => Volatile.Read(ref _stopped) != 0;

    internal DhtNetworkNode Network => _network;

    /// <summary>Whether the join through the bootstrap peers (or its retries) still runs.</summary>
    internal bool IsJoining => !_joining.IsCompleted;

    internal ShardStore? Shards => _shards;

    internal FileIndex? Files => _files;

    internal ShardRequestHandler? ShardHandler => _handler;

    internal MeshStore MeshStore => _store;

    /// <summary>The repair service of a storing node (its last pass is on the storage node's status page).</summary>
    internal RepairService? Repair => _repair;

    /// <summary>Runs one repair and clean-up pass now (tests and tools; the background loop does the same).</summary>
    internal Task<RepairReport> RunRepairPassAsync(CancellationToken cancellationToken = default) =>
        _repair?.RunPassAsync(cancellationToken) ?? Task.FromResult(default(RepairReport));

    /// <summary>
    /// How long <see cref="StartAsync"/> waits for the join, in DHT request deadlines (12 s with the default 3 s). The
    /// join contacts the bootstrap peers, looks up the node's own id and refreshes every bucket, one lookup after another:
    /// when peers are slow or many of those it hears of are gone, that takes minutes, and the node is useful long before.
    /// </summary>
    internal const int JoinWaitInRequests = 4;

    /// <summary>
    /// Starts a node: opens (or creates) its data directory, listens, joins the mesh through the bootstrap peers. It waits
    /// for the join (contacting the bootstrap peers, then the lookups that fill its routing table) at most four DHT request
    /// deadlines (<see cref="MeshDhtOptions.RequestTimeout"/>); a join that takes longer goes on in the background.
    /// </summary>
    /// <param name="options">The node's settings; <see cref="MeshNodeOptions.DataDirectory"/> is required.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running node.</returns>
    /// <exception cref="ArgumentException">An option is missing or out of range (<see cref="MeshNodeOptions.Validate"/>; the error names the property).</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The address or port cannot be bound.</exception>
    public static async Task<MeshNode> StartAsync(MeshNodeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Clone();
        options.Validate();
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger<MeshNode>();
        Directory.CreateDirectory(options.DataDirectory);
        var listen = IPAddress.Parse(options.ListenAddress);
        var identity = NodeIdentity.LoadOrCreate(options.DataDirectory);
        // Every node of a loopback cluster (tests, samples, benchmarks) connects from 127.0.0.1 and sits in one /24: the
        // per-address and per-prefix limits would refuse the 17th peer and the routing table's subnet limit would
        // keep most of them out. A loopback listener is reachable from this machine only, so it relaxes them unless
        // told not to (a hardening test attacks a loopback node from many 127.x addresses with the limits on).
        bool loopbackCluster = options.RelaxLoopbackLimits && IPAddress.IsLoopback(listen);
        var rpcOptions = options.ToRpcOptions(loopbackCluster);
        var dhtOptions = options.ToDhtOptions(loopbackCluster);
        var registry = new RecordValidatorRegistry();
        registry.Register(FileRecords.Type, FileRecordValidator.Instance);
        ShardStore? shards = null;
        FileIndex? files = null;
        ShardRequestHandler? handler = null;
        DhtNetworkNode? network = null;
        MeshNode? node = null;
        try
        {
            var distributed = options.ToDistributedOptions();
            if (options.StoreForOthers)
            {
                shards = await ShardStore.OpenAsync(
                    options.ToShardStoreOptions(identity.Id, IPAddress.IsLoopback(listen), loggerFactory.CreateLogger<ShardStore>()),
                    cancellationToken).ConfigureAwait(false);
                files = new FileIndex(Path.Combine(options.DataDirectory, "files"), shards, loggerFactory.CreateLogger<FileIndex>());
                var deletes = new DeleteAuthorization(identity.Id, distributed.DeleteWindow, options.TimeProvider, options.DataDirectory,
                    loggerFactory.CreateLogger<DeleteAuthorization>());
                handler = new ShardRequestHandler(shards, files, deletes, rpcOptions.MaxShardSize, options.TimeProvider);
            }

            network = DhtNetworkNode.Start(identity, new IPEndPoint(listen, options.Port), rpcOptions, dhtOptions, registry, options.TimeProvider, loggerFactory);
            var dht = network.Dht;
            if (files is not null)
            {
                foreach (var record in files.Load())
                {
                    try
                    {
                        dht.Records.Put(record);
                    }
                    catch (Exception e) when (e is MeshStorageException or ArgumentException)
                    {
                        logger.StoredRecordRefused(record.Key, e.Message);
                    }
                }

                network.Router.Dht = new FileRecordInterceptor(dht, files, handler!);
                network.Router.Shards = handler;
                var store = shards!;
                dht.KeepsDistantRecord = record => HoldsFileOf(record, files, store);
                network.Router.DescribeNode = info =>
                {
                    info.RoutingTableSize = (uint)dht.Table.Count;
                    var stats = store.GetStats();
                    info.StoredBytes = (ulong)stats.StoredBytes;
                    info.CapacityBytes = stats.QuotaBytes == long.MaxValue ? 0 : (ulong)stats.QuotaBytes;
                    info.ShardCount = (ulong)stats.ShardCount;
                };
            }
            else
            {
                // A client: peers never learn a listen port from it, so it never enters their routing tables.
                network.Client.LocalListenPort = 0;
            }

            async Task<bool> StoreLocalRecord(ValueRecord record, CancellationToken ct)
            {
                if (files is null) return false;
                dht.Records.Put(record);
                await files.AcceptAsync(record, ct).ConfigureAwait(false);
                return true;
            }

            if (handler is not null) handler.AcceptRecord = StoreLocalRecord;
            var client = new ShardClient(network.Client, dht.Self, handler, StoreLocalRecord, distributed);
            var placement = new Placement(dht, selfStores: options.StoreForOthers);
            var meshStore = new MeshStore(dht, client, placement, distributed, loggerFactory.CreateLogger<MeshStore>(),
                () => shards?.GetStats().ShardCount ?? 0, () => shards?.GetStats().StoredBytes ?? 0);
            var repair = shards is not null && files is not null
                ? new RepairService(dht, meshStore, files, shards, options.TimeProvider, loggerFactory.CreateLogger<RepairService>())
                {
                    WarmPeers = distributed.DataShards + distributed.ParityShards,
                }
                : null;
            node = new MeshNode(options, identity, network, shards, files, handler, meshStore, repair, logger);
            await node.JoinAsync(cancellationToken).ConfigureAwait(false);
            network.StartMaintenance();
            if (repair is not null) node._repairLoop = repair.RunAsync(options.Repair.Interval, node._stopping.Token);
            logger.Listening(identity.Id, node.Endpoint, options.StoreForOthers ? "storing" : "client",
                options.PrivateNetworkKey?.ToString() ?? "open mesh");
            return node;
        }
        catch
        {
            if (node is not null) await node.AbandonJoinAsync().ConfigureAwait(false);
            if (network is not null) await network.DisposeAsync().ConfigureAwait(false);
            if (files is not null) await files.DisposeAsync().ConfigureAwait(false);
            handler?.Dispose();
            shards?.Dispose();
            identity.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Joins through the bootstrap peers in the background (it stops with the node) and waits for that at most
    /// <see cref="JoinWaitInRequests"/> request deadlines. Only the bootstrap list's own errors (a malformed entry, a host
    /// name that does not resolve) end the start.
    /// </summary>
    private async Task JoinAsync(CancellationToken cancellationToken)
    {
        if (_options.EnableMdns) _network.StartMdns(_network.Server.LocalEndPoint.Address);
        if (_options.BootstrapPeers.Count == 0) return;
        var peers = new List<BootstrapPeer>();
        foreach (var text in _options.BootstrapPeers)
        {
            // "host:port@nodeid" (ours) and "host:port/nodeid" (the DHT's own form) are both accepted.
            int at = text.LastIndexOf('@');
            peers.Add(await BootstrapPeer.ResolveAsync(at >= 0 ? string.Concat(text.AsSpan(0, at), "/", text.AsSpan(at + 1)) : text, cancellationToken).ConfigureAwait(false));
        }

        var first = _network.Dht.BootstrapAsync(peers, refreshBuckets: true, _stopping.Token);
        _joining = FinishJoinAsync(first, peers, _stopping.Token);
        var wait = _options.Dht.RequestTimeout * JoinWaitInRequests;
        await Task.WhenAny(first, Task.Delay(wait, _options.TimeProvider, cancellationToken)).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (!first.IsCompleted) _logger.JoinGoesOn(wait);
    }

    /// <summary>The rest of the join after <see cref="StartAsync"/> stopped waiting: when no bootstrap peer answered, the retries.</summary>
    private async Task FinishJoinAsync(Task<int> first, List<BootstrapPeer> peers, CancellationToken stopping)
    {
        try
        {
            int reached = 0;
            try
            {
                reached = await first.ConfigureAwait(false);
            }
            catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException or System.Net.Sockets.SocketException)
            {
                _logger.BootstrapStillUnreachable(e.Message);
            }

            if (reached > 0) return;
            _logger.NoBootstrapPeerAnswered(peers.Count);
            await RejoinAsync(peers, stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Ends a join that a failed or cancelled start leaves behind.</summary>
    private async Task AbandonJoinAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _joining.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// A node that reached none of its bootstrap peers (they were down, or its network was not up yet) would otherwise
    /// stay alone until some peer happened to contact it, and no peer knows it. It tries them again, backing off from
    /// <see cref="MeshDhtOptions.BootstrapRetryInterval"/> to a minute, until its routing table holds a peer.
    /// </summary>
    private async Task RejoinAsync(List<BootstrapPeer> peers, CancellationToken stopping)
    {
        var wait = _options.Dht.BootstrapRetryInterval;
        try
        {
            while (_network.Dht.Table.Count == 0)
            {
                await Task.Delay(wait, _options.TimeProvider, stopping).ConfigureAwait(false);
                if (_network.Dht.Table.Count > 0) break;
                try
                {
                    int reached = await _network.Dht.BootstrapAsync(peers, refreshBuckets: true, stopping).ConfigureAwait(false);
                    if (reached > 0) _logger.Rejoined(reached);
                }
                catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException or System.Net.Sockets.SocketException)
                {
                    _logger.BootstrapStillUnreachable(e.Message);
                }

                wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// Whether a file record is for a file this node holds shards of (a manifest naming one of its shards) or knows (a
    /// tombstone): shard holders are seldom among the nodes closest to a file's CID, yet they need its records.
    /// </summary>
    private static bool HoldsFileOf(ValueRecord record, FileIndex files, ShardStore shards)
    {
        if (record.Type != FileRecords.Type || record.Key.Length != Sha256Hash.Size) return false;
        if (FileRecords.IsTombstone(record)) return files.Knows(Cid.FromDigest(new Sha256Hash(record.Key.Span)));
        if (!FileRecords.IsManifest(record)) return false;
        try
        {
            var manifest = FileRecords.OpenManifest(record);
            for (int segment = 0; segment < manifest.SegmentCount; segment++)
                for (int shard = 0; shard < manifest.TotalShards; shard++)
                    if (shards.Contains(manifest.ShardHash(segment, shard))) return true;
            return false;
        }
        catch (Exception e) when (e is MeshStorageException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Stops the node: the repair loop, the DHT, the listener and every connection; closes the shard store.</summary>
    /// <param name="cancellationToken">Not used to abandon the stop (a stop always completes); kept for symmetry.</param>
    /// <returns>A task that completes when everything is closed.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _repairLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
#pragma warning disable CA1031 // Whatever ended the loop, the node still closes everything it holds.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.RepairLoopFailed(e, Id);
        }

        await _joining.ConfigureAwait(false);

        await _network.DisposeAsync().ConfigureAwait(false);
        if (_files is not null) await _files.DisposeAsync().ConfigureAwait(false);
        _handler?.Dispose();
        _shards?.Dispose();
        _identity.Dispose();
        _stopping.Dispose();
        _logger.Stopped(Id);
    }

    /// <summary>Stops the node (see <see cref="StopAsync"/>).</summary>
    /// <returns>A task that completes when the node is stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
