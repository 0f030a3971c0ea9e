using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Calls peers over pooled TLS connections: one multiplexed connection per peer endpoint, reused by every call,
/// closed when idle; at most <see cref="RpcOptions.MaxOutboundConnections"/> open (idle ones are closed first to
/// make room). Every connection is authenticated against the node id the caller expects.
/// </summary>
internal sealed class RpcClient : IMeshTransport, IAsyncDisposable
{
    private readonly RpcOptions _options;
    private readonly ILogger _logger;
    private readonly SslStreamCertificateContext _certificate;
    private readonly ConcurrentDictionary<IPEndPoint, Task<RpcConnection>> _connections = new();
    private readonly CancellationTokenSource _disposed = new();

    public RpcClient(NodeIdentity identity, RpcOptions options, ILogger? logger = null)
    {
        options.Validate();
        Identity = identity;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        var cert = NodeCertificate.Create(identity);
        _certificate = SslStreamCertificateContext.Create(cert, additionalCertificates: null, offline: true);
    }

    /// <summary>This node's identity (presented to every peer).</summary>
    public NodeIdentity Identity { get; }

    /// <summary>The port this node listens on, told to peers in the version exchange so they can call back (0 = none).</summary>
    public int LocalListenPort { get; set; }

    /// <summary>Source address for outgoing connections (the node's listen address), so peers see the address the
    /// node serves on; null lets the OS choose.</summary>
    public IPAddress? LocalBindAddress { get; set; }

    /// <summary>Open connections.</summary>
    public int ConnectionCount => _connections.Count(c => c.Value.IsCompletedSuccessfully && !c.Value.Result.IsClosed);

    /// <inheritdoc/>
    public async ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var response = await CallAsync(peer.EndPoint, peer.Id, request, timeout, cancellationToken).ConfigureAwait(false);
        return response;
    }

    /// <summary>Calls a peer at <paramref name="endPoint"/>, expecting id <paramref name="expectedId"/> (null: accept
    /// whichever id the peer proves, for bootstrap addresses given without an id).</summary>
    /// <exception cref="ProtocolException">Wrong id, version mismatch, broken protocol, or an error status.</exception>
    /// <exception cref="TimeoutException">No answer in time.</exception>
    public async Task<Response> CallAsync(IPEndPoint endPoint, NodeId? expectedId, Request request, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var budget = timeout ?? _options.DefaultCallTimeout;
        long start = Environment.TickCount64;
        for (int attempt = 0; ; attempt++)
        {
            var connection = await GetConnectionAsync(endPoint, expectedId, budget, cancellationToken).ConfigureAwait(false);
            var left = Left(budget, start, endPoint);
            Response response;
            try
            {
                response = await connection.CallAsync(request, left, cancellationToken).ConfigureAwait(false);
            }
            catch (ConnectionLostException) when (attempt == 0 && MaySendAgain(request) && budget - Elapsed(start) > TimeSpan.Zero)
            {
                continue; // the (idle) connection was closed as the call went out: once more on a new one
            }

            if (response.Status is { Code: not StatusCode.Ok } status)
                throw RpcStatus.ToException(status, $"{connection.RemoteId.ToString()[..12]}@{endPoint}");
            return response;
        }
    }

    /// <summary>
    /// Whether a call whose connection was lost before any answer may go once more on a new connection. The peer may
    /// have read and acted on the first one (a connection closed as idle or evicted can race with a request already on
    /// its way, and a reset can come after the request was read), so only requests whose second delivery leaves the
    /// peer as the first one did go again:
    /// <list type="bullet">
    /// <item>reads: PING, FIND_NODE, FIND_VALUE, GET_SHARD, HAS_SHARDS, NODE_INFO;</item>
    /// <item>PUT_SHARD: a shard is named by its hash, and a second put under the same authority renews the same owner's
    /// hold with the same expiry (<c>ShardStore.PutAsync</c>): nothing more is written or accounted; only its
    /// <c>already_present</c> answer differs, and no caller reads it;</item>
    /// <item>STORE_VALUE: the record store keeps one record per key and selects between a record and itself as
    /// itself; an identical record's second store moves an unsigned record's expiry no further than the publisher's
    /// own republish does.</item>
    /// </list>
    /// DELETE_SHARDS does not go again: the holder remembers its nonce and refuses a second delivery as a replay, so a
    /// delete that went through the first time would come back as refused. Request kinds added later go again only
    /// once they are listed here.
    /// </summary>
    internal static bool MaySendAgain(Request request) => request.KindCase is Request.KindOneofCase.Ping or Request.KindOneofCase.FindNode
        or Request.KindOneofCase.FindValue or Request.KindOneofCase.StoreValue or Request.KindOneofCase.PutShard or Request.KindOneofCase.GetShard
        or Request.KindOneofCase.HasShards or Request.KindOneofCase.NodeInfo;

    private static TimeSpan Elapsed(long start) => TimeSpan.FromMilliseconds(Environment.TickCount64 - start);

    /// <summary>What is left of a call's time after connecting.</summary>
    /// <exception cref="TimeoutException">Nothing is left.</exception>
    private static TimeSpan Left(TimeSpan budget, long start, IPEndPoint endPoint)
    {
        var left = budget - Elapsed(start);
        if (left <= TimeSpan.Zero) throw new TimeoutException($"Connecting to {endPoint} used up the call's {budget.TotalMilliseconds:0} ms.");
        return left;
    }

    /// <summary>
    /// GET_SHARD into a caller's buffer: a shard that fits <paramref name="destination"/> is decrypted straight into
    /// it (no allocation, no copy) and the result is the filled part of it; a larger one comes back in a new array.
    /// </summary>
    /// <exception cref="ShardsUnavailableException">The peer does not hold the shard.</exception>
    /// <exception cref="ProtocolException">The peer does not serve shards or broke the protocol.</exception>
    public async Task<ReadOnlyMemory<byte>> GetShardAsync(PeerContact peer, ReadOnlyMemory<byte> shardHash, Memory<byte> destination,
        TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var budget = timeout ?? _options.DefaultCallTimeout;
        long start = Environment.TickCount64;
        var request = new Request { GetShard = new GetShardRequest { ShardHash = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(shardHash) } };
        Response response;
        for (int attempt = 0; ; attempt++)
        {
            var connection = await GetConnectionAsync(peer.EndPoint, peer.Id, budget, cancellationToken).ConfigureAwait(false);
            var left = Left(budget, start, peer.EndPoint);
            try
            {
                response = await connection.CallAsync(request, destination, left, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (ConnectionLostException) when (attempt == 0 && budget - Elapsed(start) > TimeSpan.Zero)
            {
                // The (idle) connection was closed as the call went out: once more on a new one (a read: MaySendAgain).
            }
        }

        if (response.Status is { Code: not StatusCode.Ok } status)
            throw RpcStatus.ToException(status, peer.ToString());
        if (response.KindCase != Response.KindOneofCase.GetShard)
            throw new ProtocolException($"Peer {peer} answered GET_SHARD with a {response.KindCase} response.");
        return response.GetShard.Data.Memory;
    }

    /// <summary>The id of the peer at <paramref name="endPoint"/> (connecting if needed).</summary>
    public async ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var c = await GetConnectionAsync(endPoint, expectedId, timeout, cancellationToken).ConfigureAwait(false);
        return c.RemoteId;
    }

    private async ValueTask<RpcConnection> GetConnectionAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan budget, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        while (true)
        {
            // Wait on the dial this call started itself, not on whatever the pool holds afterwards: a dial that fails at
            // once (the node's own address is gone, no route) removes its entry before this line could see it, and
            // looking it up again would start another dial, and another, without end.
            bool dialedHere = false;
            if (!_connections.TryGetValue(endPoint, out var pending))
            {
                var tcs = new TaskCompletionSource<RpcConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (!_connections.TryAdd(endPoint, tcs.Task)) continue;
                MakeRoom();
                _ = DialIntoAsync(endPoint, expectedId, tcs);
                pending = tcs.Task;
                dialedHere = true;
            }
            RpcConnection c;
            try
            {
                c = await pending.WaitAsync(budget, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (pending.IsFaulted)
            {
                _connections.TryRemove(new KeyValuePair<IPEndPoint, Task<RpcConnection>>(endPoint, pending));
                if (pending.Exception!.InnerException is { } inner) throw inner is MeshStorageException or TimeoutException ? inner : new ProtocolException($"Could not connect to {endPoint}: {inner.Message}", inner);
                throw;
            }
            if (c.IsClosed)
            {
                _connections.TryRemove(new KeyValuePair<IPEndPoint, Task<RpcConnection>>(endPoint, pending));
                // A pooled connection that closed is dialed again once; one this call just made is not.
                if (dialedHere) throw new ProtocolException($"The connection to {endPoint} closed as soon as it was made.");
                continue;
            }
            if (expectedId is { } want && c.RemoteId != want)
                throw new ProtocolException($"The peer at {endPoint} is {c.RemoteId}, not the expected node id {want}.");
            return c;
        }
    }

    private async Task DialIntoAsync(IPEndPoint endPoint, NodeId? expectedId, TaskCompletionSource<RpcConnection> tcs)
    {
        // The dial runs on its own timeout, not the first caller's token, because later callers share its result.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
        timeout.CancelAfter(_options.HandshakeTimeout);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        RpcTransport.Configure(socket);
        try
        {
            if (LocalBindAddress is { } source && source.AddressFamily == endPoint.AddressFamily)
                socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (_options.OutboundTransport is { } wrap) stream = wrap(stream, endPoint);
            var connection = await RpcHandshake.DialAsync(stream, endPoint, Identity.Id, expectedId, _certificate, _options, LocalListenPort, _logger, timeout.Token).ConfigureAwait(false);
            _ = connection.Completion.ContinueWith(
                _ => _connections.TryRemove(new KeyValuePair<IPEndPoint, Task<RpcConnection>>(endPoint, tcs.Task)),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            if (_disposed.IsCancellationRequested) connection.Abort(null);
            tcs.SetResult(connection);
        }
        catch (Exception ex)
        {
            socket.Dispose();
            _connections.TryRemove(new KeyValuePair<IPEndPoint, Task<RpcConnection>>(endPoint, tcs.Task));
            Exception error = ex switch
            {
                MeshStorageException => ex,
                OperationCanceledException when !_disposed.IsCancellationRequested =>
                    new TimeoutException($"Connecting to {endPoint} took longer than {_options.HandshakeTimeout.TotalMilliseconds:0} ms."),
                _ => new ProtocolException($"Could not connect to {endPoint}: {ex.Message}", ex),
            };
            tcs.SetException(error);
        }
    }

    private void MakeRoom()
    {
        if (_connections.Count <= _options.MaxOutboundConnections) return;
        var idle = _connections.Values
            .Where(t => t.IsCompletedSuccessfully && t.Result.InFlight == 0)
            .Select(t => t.Result)
            .OrderBy(c => c.LastActivity)
            .Take(_connections.Count - _options.MaxOutboundConnections)
            .ToList();
        foreach (var c in idle) c.Abort(null, idle: true);
    }

    /// <summary>Closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _disposed.Cancel();
        var all = _connections.Values.ToArray();
        foreach (var t in all)
        {
            try
            {
                var c = await t.ConfigureAwait(false);
                await c.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MeshStorageException or TimeoutException or OperationCanceledException)
            {
                // A dial that failed has nothing to close.
            }
        }
        _connections.Clear();
    }
}
