using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Accepts TLS connections from peers and serves their requests on an <see cref="IRpcRequestHandler"/>.
/// Enforces the connection limits (total, per address and per address prefix), the handshake timeout, and, through
/// each connection's watchdog, the read and idle timeouts. When the table is full, a newcomer takes the slot of the
/// least recently useful idle connection (from the most crowded prefix first) rather than being refused.
/// </summary>
internal sealed class RpcServer : IAsyncDisposable
{
    private readonly NodeIdentity _identity;
    private readonly RpcOptions _options;
    private readonly IRpcRequestHandler _handler;
    private readonly ILogger _logger;
    private readonly SslStreamCertificateContext _certificate;
    private readonly SemaphoreSlim _globalSlots;
    private readonly ByteBudget _budget;
    private readonly ConcurrentDictionary<RpcConnection, byte> _connections = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private readonly ConcurrentDictionary<AddressPrefix, int> _perPrefix = new();
    private readonly Lock _evictionLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private int _accepting;

    public RpcServer(NodeIdentity identity, RpcOptions options, IRpcRequestHandler handler, ILogger? logger = null)
    {
        options.Validate();
        _identity = identity;
        _options = options;
        _handler = handler;
        _logger = logger ?? NullLogger.Instance;
        var cert = NodeCertificate.Create(identity);
        _certificate = SslStreamCertificateContext.Create(cert, additionalCertificates: null, offline: true);
        _globalSlots = new SemaphoreSlim(options.MaxInFlightTotal, options.MaxInFlightTotal);
        _budget = new ByteBudget(options.MaxBufferedBytes);
    }

    /// <summary>The bound endpoint (with the OS-chosen port when started on port 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("The server is not started."));

    /// <summary>The node id this server proves in every handshake.</summary>
    public NodeId Id => _identity.Id;

    /// <summary>Connections open now (after handshake).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Bytes of the <see cref="RpcOptions.MaxBufferedBytes"/> budget free now.</summary>
    public long BufferedBytesAvailable => _budget.Available;

    /// <summary>Connections in the handshake now.</summary>
    public int HandshakesInProgress => Volatile.Read(ref _accepting);

    /// <summary>Binds and starts accepting.</summary>
    public void Start(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _listener = socket;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    private async Task AcceptLoopAsync()
    {
        var listener = _listener!;
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                _logger.AcceptFailed(ex);
                continue;
            }
            _ = Task.Run(() => HandleSocketAsync(socket));
        }
    }

    private async Task HandleSocketAsync(Socket socket)
    {
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var address = remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address;
        remote = new IPEndPoint(address, remote.Port);
        var prefix = AddressPrefix.Of(address);
        int count = _perAddress.AddOrUpdate(address, 1, static (_, c) => c + 1);
        int inPrefix = _perPrefix.AddOrUpdate(prefix, 1, static (_, c) => c + 1);
        try
        {
            bool exempt = _options.ExemptLoopbackPeers && IPAddress.IsLoopback(address);
            string? refusal = !exempt && count > _options.MaxInboundConnectionsPerAddress ? "per-address limit"
                : !exempt && inPrefix > _options.MaxInboundConnectionsPerPrefix ? $"limit for {prefix}"
                : _connections.Count + Volatile.Read(ref _accepting) >= _options.MaxInboundConnections && !TryEvict() ? "connection table full"
                : null;
            if (refusal is not null)
            {
                _logger.ConnectionRefused(remote, refusal);
                RpcMetrics.ConnectionsRefused.Add(1);
                socket.Dispose();
                return;
            }
            RpcTransport.Configure(socket);
            Interlocked.Increment(ref _accepting);
            RpcConnection connection;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(_options.HandshakeTimeout);
                var stream = new NetworkStream(socket, ownsSocket: true);
                try
                {
                    connection = await RpcHandshake.AcceptAsync(stream, remote, _identity.Id, _certificate, _options, LocalEndPoint.Port, _logger, timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    await stream.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            }
            catch (Exception ex)
            {
                _logger.HandshakeFailed(remote, ex.Message);
                RpcMetrics.PeersDropped.Add(1);
                socket.Dispose();
                return;
            }
            finally
            {
                Interlocked.Decrement(ref _accepting);
            }
            _connections[connection] = 0;
            if (_stopping.IsCancellationRequested) connection.Abort(null);
            connection.StartListener(_handler, _globalSlots, _budget);
            await connection.Completion.ConfigureAwait(false);
            _connections.TryRemove(connection, out _);
        }
        finally
        {
            _perAddress.AddOrUpdate(address, 0, static (_, c) => c - 1);
            _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, 0));
            _perPrefix.AddOrUpdate(prefix, 0, static (_, c) => c - 1);
            _perPrefix.TryRemove(new KeyValuePair<AddressPrefix, int>(prefix, 0));
        }
    }

    /// <summary>
    /// Makes room for a newcomer in a full table: closes the connection that did useful work least recently (pings do
    /// not count) among those with nothing in flight and without useful work for at least <see cref="RpcOptions.EvictableAfter"/>,
    /// taking it from the prefix with the most connections first (an attacker's many connections go before the one
    /// connection of each honest peer). False when no connection may be evicted.
    /// </summary>
    private bool TryEvict()
    {
        lock (_evictionLock)
        {
            long now = Environment.TickCount64;
            RpcConnection? victim = null;
            int victimCrowd = 0;
            foreach (var c in _connections.Keys)
            {
                if (!c.IsEvictable(now)) continue;
                int crowd = _perPrefix.GetValueOrDefault(AddressPrefix.Of(c.RemoteEndPoint.Address));
                if (victim is null || crowd > victimCrowd || (crowd == victimCrowd && c.LastUseful < victim.LastUseful))
                {
                    victim = c;
                    victimCrowd = crowd;
                }
            }

            if (victim is null) return false;
            _logger.EvictingIdle(victim.RemoteEndPoint, victimCrowd);
            RpcMetrics.ConnectionsEvicted.Add(1);
            victim.Abort(null, idle: true);
            return true;
        }
    }

    /// <summary>Stops accepting and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _listener?.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        var closing = _connections.Keys.Select(c => c.DisposeAsync().AsTask()).ToArray();
        await Task.WhenAll(closing).ConfigureAwait(false);
    }
}
