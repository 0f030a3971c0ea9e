using System.Net;
using System.Net.Sockets;
using Makaretu.Dns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Dht.Mdns;

/// <summary>
/// LAN discovery over multicast DNS on one network interface (opt-in: nothing is sent on an interface unless a
/// discovery is started for it). Our own UDP socket layer — bound to port 5353, joined to 224.0.0.251 on the
/// given interface only, sending through that interface with multicast loopback on — carries Makaretu.Dns
/// messages. It answers queries for <c>_zentalk-mesh._tcp.local</c>, announces itself at start and periodically,
/// and reports the peers it hears about. A discovered id is only a hint: the TLS handshake proves it.
/// <para>
/// Anyone on the link can announce anything, so what it keeps is bounded: an announcement naming an address the node's
/// <see cref="PeerAddressFilter"/> refuses is ignored; a peer is reported at most once per half announce interval; and
/// the table that remembers when each peer was reported holds at most <see cref="MaxTrackedPeers"/> entries, an entry
/// leaving it once it is older than half the interval. When it is full of fresh entries, new peers are not reported
/// until some age out: at most <see cref="MaxTrackedPeers"/> new peers per half interval.
/// </para>
/// </summary>
internal sealed class MdnsDiscovery : IAsyncDisposable
{
    public static readonly IPAddress MulticastGroup = IPAddress.Parse("224.0.0.251");
    public const int DefaultPort = 5353;

    /// <summary>Most peers the discovery table remembers (and so reports per half announce interval).</summary>
    public const int MaxTrackedPeers = 256;

    private readonly Socket _socket;
    private readonly IPEndPoint _groupEndPoint;
    private readonly NodeId _self;
    private readonly int _servicePort;
    private readonly IPAddress _interfaceAddress;
    private readonly IPAddress _advertisedAddress;
    private readonly Action<BootstrapPeer> _onPeer;
    private readonly Func<IPAddress, bool> _acceptAddress;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<NodeId, long> _lastReported = [];
    private readonly Lock _lock = new();
    private readonly TimeSpan _announceInterval;
    private Task _receiveLoop = Task.CompletedTask, _announceLoop = Task.CompletedTask;

    private MdnsDiscovery(Socket socket, IPEndPoint group, NodeId self, int servicePort, IPAddress interfaceAddress, IPAddress advertisedAddress,
        TimeSpan announceInterval, Action<BootstrapPeer> onPeer, Func<IPAddress, bool> acceptAddress, ILogger logger)
    {
        _acceptAddress = acceptAddress;
        _socket = socket;
        _groupEndPoint = group;
        _self = self;
        _servicePort = servicePort;
        _interfaceAddress = interfaceAddress;
        _advertisedAddress = advertisedAddress;
        _announceInterval = announceInterval;
        _onPeer = onPeer;
        _logger = logger;
    }

    /// <summary>
    /// Starts discovery on the interface that has <paramref name="interfaceAddress"/> (IPv4), advertising
    /// <paramref name="self"/> at <paramref name="servicePort"/>. <paramref name="onPeer"/> is called for each
    /// other node heard (at most once per half announce interval per node). <paramref name="advertisedAddress"/> is the
    /// address announced in the A record (the node's listen address; default: the interface address).
    /// <paramref name="acceptAddress"/> says which announced addresses may be reported (default: the
    /// <see cref="PeerAddressFilter"/> of the interface address).
    /// </summary>
    /// <exception cref="SocketException">The interface has no multicast (no route to 224.0.0.0/4, or multicast off).</exception>
    public static MdnsDiscovery Start(IPAddress interfaceAddress, NodeId self, int servicePort, Action<BootstrapPeer> onPeer,
        TimeSpan? announceInterval = null, int port = DefaultPort, ILogger? logger = null, IPAddress? advertisedAddress = null,
        Func<IPAddress, bool>? acceptAddress = null)
    {
        ArgumentNullException.ThrowIfNull(interfaceAddress);
        if (interfaceAddress.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException("mDNS discovery runs on an IPv4 interface address.", nameof(interfaceAddress));
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Several processes (or nodes in one process) share 5353, as every mDNS responder on a host must.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(MulticastGroup, interfaceAddress));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, interfaceAddress.GetAddressBytes());
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, true);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 255);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var discovery = new MdnsDiscovery(socket, new IPEndPoint(MulticastGroup, port), self, servicePort, interfaceAddress,
            advertisedAddress is null || advertisedAddress.Equals(IPAddress.Any) ? interfaceAddress : advertisedAddress,
            announceInterval ?? TimeSpan.FromSeconds(60), onPeer, acceptAddress ?? PeerAddressFilter.For(interfaceAddress).Allows, logger ?? NullLogger.Instance);
        discovery._receiveLoop = Task.Run(discovery.ReceiveLoopAsync);
        discovery._announceLoop = Task.Run(discovery.AnnounceLoopAsync);
        return discovery;
    }

    /// <summary>Peers in the discovery table.</summary>
    public int TrackedPeers
    {
        get { lock (_lock) return _lastReported.Count; }
    }

    /// <summary>Sends a query; every node on the link answers with its announcement.</summary>
    public Task QueryAsync(CancellationToken cancellationToken = default) => SendAsync(MdnsServiceMessages.Query(), cancellationToken);

    private Task SendAsync(Message message, CancellationToken cancellationToken) =>
        _socket.SendToAsync(message.ToByteArray(), SocketFlags.None, _groupEndPoint, cancellationToken).AsTask();

    private async Task AnnounceLoopAsync()
    {
        try
        {
            // Announce and ask right away (so a new node is found and finds others at once), then re-announce
            // periodically; a few quick repeats cover a lost datagram at start.
            for (int i = 0; !_stopping.IsCancellationRequested; i++)
            {
                await SendAsync(MdnsServiceMessages.Announcement(_self, _servicePort, _advertisedAddress), _stopping.Token).ConfigureAwait(false);
                if (i < 3) await QueryAsync(_stopping.Token).ConfigureAwait(false);
                var wait = i < 3 ? TimeSpan.FromMilliseconds(250 * (i + 1)) : _announceInterval;
                await Task.Delay(wait, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // Stopped.
        }
        catch (SocketException ex)
        {
            _logger.MdnsAnnouncementsStopped(ex, _interfaceAddress);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[9000];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stopping.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                _logger.MdnsReceiveFailed(ex);
                continue;
            }
            Message message;
            try
            {
                message = new Message();
                message.Read(buffer, 0, received.ReceivedBytes);
            }
#pragma warning disable CA1031 // Anyone on the link can send anything; a datagram the DNS parser rejects is dropped whatever the parser throws.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.MdnsMalformed(ex.Message);
                continue;
            }
            await HandleAsync(message, ((IPEndPoint)received.RemoteEndPoint).Address).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(Message message, IPAddress source)
    {
        if (MdnsServiceMessages.IsServiceQuery(message))
        {
            try
            {
                await SendAsync(MdnsServiceMessages.Announcement(_self, _servicePort, _advertisedAddress), _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                _logger.MdnsAnswerFailed(ex.Message);
            }
            return;
        }
        foreach (var peer in MdnsServiceMessages.ReadPeers(message, source))
        {
            if (peer.ExpectedId is not { } id || id == _self || !_acceptAddress(peer.EndPoint.Address)) continue;
            if (ShouldReport(id)) _onPeer(peer);
        }
    }

    /// <summary>Whether a peer heard now is reported: not if it was within half an announce interval, nor while the
    /// table is full of peers heard that recently.</summary>
    private bool ShouldReport(NodeId id)
    {
        long now = Environment.TickCount64;
        long fresh = (long)(_announceInterval.TotalMilliseconds / 2);
        lock (_lock)
        {
            if (_lastReported.TryGetValue(id, out long last))
            {
                if (now - last < fresh) return false;
            }
            else if (_lastReported.Count >= MaxTrackedPeers)
            {
                foreach (var (old, at) in _lastReported)
                    if (now - at >= fresh) _lastReported.Remove(old);
                if (_lastReported.Count >= MaxTrackedPeers) return false;
            }
            _lastReported[id] = now;
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _socket.Dispose();
        await Task.WhenAll(_receiveLoop, _announceLoop).ConfigureAwait(false);
    }
}
