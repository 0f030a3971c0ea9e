using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// The server's handler: PING and NODE_INFO are answered here, DHT requests go to <see cref="Dht"/>, shard requests
/// to <see cref="Shards"/>. A request whose handler is not registered gets status UNSUPPORTED.
/// </summary>
internal sealed class MeshRequestRouter : IRpcRequestHandler
{
    private readonly long _started = Environment.TickCount64;

    public MeshRequestRouter(NodeId self) => Self = self;

    public NodeId Self { get; }

    /// <summary>Handles FIND_NODE, FIND_VALUE and STORE_VALUE (the DHT node), or null.</summary>
    public IRpcRequestHandler? Dht { get; set; }

    /// <summary>Handles the shard requests (the Distributed layer's shard store), or null.</summary>
    public IShardRequestHandler? Shards { get; set; }

    /// <summary>Adds facts to NODE_INFO answers (storage figures, routing table size).</summary>
    public Action<NodeInfoResponse>? DescribeNode { get; set; }

    public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        switch (request.KindCase)
        {
            case Request.KindOneofCase.Ping when Dht is null:
                return new Response { Ping = new PingResponse { Payload = request.Ping.Payload } };
            case Request.KindOneofCase.NodeInfo:
                var info = new NodeInfoResponse
                {
                    NodeId = Google.Protobuf.ByteString.CopyFrom(Self.ToByteArray()),
                    ProtocolVersion = RpcOptions.ProtocolVersion,
                    Agent = "zentalk-meshstorage",
                    UptimeSeconds = (ulong)((Environment.TickCount64 - _started) / 1000),
                };
                DescribeNode?.Invoke(info);
                return new Response { NodeInfo = info };
            case Request.KindOneofCase.Ping:
            case Request.KindOneofCase.FindNode:
            case Request.KindOneofCase.FindValue:
            case Request.KindOneofCase.StoreValue:
                if (Dht is null) return Unsupported(request);
                return await Dht.HandleAsync(request, caller, cancellationToken).ConfigureAwait(false);
            case Request.KindOneofCase.PutShard:
                if (Shards is null) return Unsupported(request);
                return new Response { PutShard = await Shards.PutShardAsync(request.PutShard, caller, cancellationToken).ConfigureAwait(false) };
            case Request.KindOneofCase.GetShard:
                if (Shards is null) return Unsupported(request);
                return new Response { GetShard = await Shards.GetShardAsync(request.GetShard, caller, cancellationToken).ConfigureAwait(false) };
            case Request.KindOneofCase.HasShards:
                if (Shards is null) return Unsupported(request);
                return new Response { HasShards = await Shards.HasShardsAsync(request.HasShards, caller, cancellationToken).ConfigureAwait(false) };
            case Request.KindOneofCase.DeleteShards:
                if (Shards is null) return Unsupported(request);
                return new Response { DeleteShards = await Shards.DeleteShardsAsync(request.DeleteShards, caller, cancellationToken).ConfigureAwait(false) };
            default:
                return RpcStatus.Error(StatusCode.InvalidArgument, "The request has no known kind.");
        }
    }

    private static Response Unsupported(Request request) => RpcStatus.Error(StatusCode.Unsupported,
        $"This node does not serve {request.KindCase} requests (no handler registered for them).");
}
