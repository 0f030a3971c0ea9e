using System.Net;
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
    private readonly CancellationTokenSource _stopping = new();
    private Task _maintenance = Task.CompletedTask;
    private readonly List<Mdns.MdnsDiscovery> _discoveries = [];

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

    /// <summary>Starts listening on <paramref name="endPoint"/> (port 0 = OS-chosen) and returns the running node.</summary>
    public static DhtNetworkNode Start(NodeIdentity identity, IPEndPoint endPoint, RpcOptions? rpcOptions = null,
        DhtOptions? dhtOptions = null, IRecordValidator? validator = null, TimeProvider? time = null, ILoggerFactory? loggers = null)
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
        var dht = new DhtNode(new PeerContact(identity.Id, server.LocalEndPoint), client, dhtOptions, validator, time, loggers?.CreateLogger<DhtNode>());
        router.Dht = dht;
        router.DescribeNode = info => info.RoutingTableSize = (uint)dht.Table.Count;
        return new DhtNetworkNode(identity, server, client, router, dht);
    }

    /// <summary>
    /// Opts the interface with <paramref name="interfaceAddress"/> into mDNS discovery: the node advertises itself
    /// there and joins (pings, then looks itself up) through every peer it hears about, with no bootstrap list.
    /// </summary>
    /// <exception cref="System.Net.Sockets.SocketException">The interface has no multicast.</exception>
    public Mdns.MdnsDiscovery StartMdns(IPAddress interfaceAddress, TimeSpan? announceInterval = null, int port = Mdns.MdnsDiscovery.DefaultPort)
    {
        var discovery = Mdns.MdnsDiscovery.Start(interfaceAddress, Identity.Id, Server.LocalEndPoint.Port,
            peer => _ = JoinViaAsync(peer), announceInterval, port, advertisedAddress: Server.LocalEndPoint.Address);
        _discoveries.Add(discovery);
        return discovery;
    }

    private async Task JoinViaAsync(BootstrapPeer peer)
    {
        try
        {
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
        await _maintenance.ConfigureAwait(false);
        await Client.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
    }
}
