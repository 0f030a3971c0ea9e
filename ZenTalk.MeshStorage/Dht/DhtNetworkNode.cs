using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// A DHT node on real sockets: the RPC server (TLS listener), the client pool and the <see cref="DhtNode"/>,
/// wired together. The composition root (MeshNode) builds on this; tests start many of them on loopback.
/// </summary>
internal sealed class DhtNetworkNode : IAsyncDisposable
{
    /// <summary>Discovered peers waiting to be joined through; beyond this many, more are dropped (heard again at
    /// their next announcement).</summary>
    internal const int MaxPendingJoins = 16;

    /// <summary>Joins through discovered peers run at most this many at once.</summary>
    internal const int ConcurrentJoins = 2;

    private readonly CancellationTokenSource _stopping = new();
    private Task _maintenance = Task.CompletedTask;
    private readonly List<Mdns.MdnsDiscovery> _discoveries = [];
    private readonly Channel<BootstrapPeer> _joins = Channel.CreateBounded<BootstrapPeer>(
        new BoundedChannelOptions(MaxPendingJoins) { FullMode = BoundedChannelFullMode.DropWrite });
    private Task _joining = Task.CompletedTask;

    private DhtNetworkNode(NodeIdentity identity, RpcServer server, RpcClient client, MeshRequestRouter router, DhtNode dht)
    {
        Identity = identity;
        Server = server;
        Client = client;
        Router = router;
        Dht = dht;
    }

    public NodeIdentity Identity { get; }
    public RpcServer Server { get; }
    public RpcClient Client { get; }
    public MeshRequestRouter Router { get; }
    public DhtNode Dht { get; }
    public PeerContact Contact => Dht.Self;

    /// <summary>Starts listening on <paramref name="endPoint"/> (port 0 = OS-chosen) and returns the running node.
    /// <paramref name="transport"/> may wrap the client the DHT calls through (tests watch what a node dials).</summary>
    public static DhtNetworkNode Start(NodeIdentity identity, IPEndPoint endPoint, RpcOptions? rpcOptions = null,
        DhtOptions? dhtOptions = null, IRecordValidator? validator = null, TimeProvider? time = null, ILoggerFactory? loggers = null,
        Func<IMeshTransport, IMeshTransport>? transport = null)
    {
        rpcOptions ??= new RpcOptions();
        var router = new MeshRequestRouter(identity.Id);
        var server = new RpcServer(identity, rpcOptions, router, loggers?.CreateLogger<RpcServer>());
        server.Start(endPoint);
        var client = new RpcClient(identity, rpcOptions, loggers?.CreateLogger<RpcClient>()) 
        {
            LocalListenPort = server.LocalEndPoint.Port,
            LocalBindAddress = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? null : endPoint.Address,
        };
        var dht = new DhtNode(new PeerContact(identity.Id, server.LocalEndPoint), transport?.Invoke(client) ?? client, dhtOptions, validator, time,
            loggers?.CreateLogger<DhtNode>());
        router.Dht = dht;
        router.DescribeNode = info => info.RoutingTableSize = (uint)dht.Table.Count;
        return new DhtNetworkNode(identity, server, client, router, dht);
    }

    /// <summary>
    /// Opts the interface with <paramref name="interfaceAddress"/> into mDNS discovery: the node advertises itself
    /// there and joins (pings, then looks itself up) through the peers it hears about, with no bootstrap list. Only
    /// peers at addresses the DHT's <see cref="PeerAddressFilter"/> allows count, and the joins are queued (at most
    /// <see cref="MaxPendingJoins"/> waiting, <see cref="ConcurrentJoins"/> at once), so announcements cannot make the node
    /// dial without bound.
    /// </summary>
    /// <exception cref="System.Net.Sockets.SocketException">The interface has no multicast.</exception>
    public Mdns.MdnsDiscovery StartMdns(IPAddress interfaceAddress, TimeSpan? announceInterval = null, int port = Mdns.MdnsDiscovery.DefaultPort)
    {
        var discovery = Mdns.MdnsDiscovery.Start(interfaceAddress, Identity.Id, Server.LocalEndPoint.Port,
            peer => _joins.Writer.TryWrite(peer), announceInterval, port, advertisedAddress: Server.LocalEndPoint.Address,
            acceptAddress: Dht.AddressFilter.Allows);
        _discoveries.Add(discovery);
        if (_joining.IsCompleted) _joining = Task.WhenAll(Enumerable.Range(0, ConcurrentJoins).Select(_ => Task.Run(JoinLoopAsync)));
        return discovery;
    }

    private async Task JoinLoopAsync()
    {
        try
        {
            await foreach (var peer in _joins.Reader.ReadAllAsync(_stopping.Token).ConfigureAwait(false))
                await Dht.BootstrapAsync([peer], refreshBuckets: false, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Node stopping.
        }
    }

    /// <summary>Starts the periodic maintenance (expiry, bucket refresh, republish).</summary>
    public void StartMaintenance() => _maintenance = Dht.RunMaintenanceLoopAsync(_stopping.Token);

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        foreach (var d in _discoveries) await d.DisposeAsync().ConfigureAwait(false);
        await _joining.ConfigureAwait(false);
        await _maintenance.ConfigureAwait(false);
        await Client.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
    }
}
