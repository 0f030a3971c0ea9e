using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// A hostile DHT responder: it answers PING like anyone, and every FIND_NODE and FIND_VALUE with the peers
/// <see cref="Lie"/> makes up for the target (and, for FIND_VALUE, the record <see cref="Record"/> gives, if any).
/// It never stores anything. Runs behind a real <see cref="RpcServer"/>, so it speaks TLS and the wire protocol.
/// </summary>
internal sealed class LyingDhtHandler(Func<NodeId, IEnumerable<PeerInfo>> lie) : IRpcRequestHandler
{
    private int _answered;

    /// <summary>The record a FIND_VALUE answer carries for a key (null: none).</summary>
    public Func<NodeId, ValueRecord?>? Record { get; init; }

    /// <summary>FIND_NODE and FIND_VALUE requests answered.</summary>
    public int Answered => Volatile.Read(ref _answered);

    public ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        Response response;
        switch (request.KindCase)
        {
            case Request.KindOneofCase.Ping:
                response = new Response { Ping = new PingResponse { Payload = request.Ping.Payload } };
                break;
            case Request.KindOneofCase.FindNode:
                var fn = new FindNodeResponse();
                fn.CloserPeers.AddRange(lie(new NodeId(request.FindNode.Target.Span)));
                response = new Response { FindNode = fn };
                Interlocked.Increment(ref _answered);
                break;
            case Request.KindOneofCase.FindValue:
                var key = new NodeId(request.FindValue.Key.Span);
                var fv = new FindValueResponse { Record = Record?.Invoke(key) };
                fv.CloserPeers.AddRange(lie(key));
                response = new Response { FindValue = fv };
                Interlocked.Increment(ref _answered);
                break;
            default:
                return ValueTask.FromResult(RpcStatus.Error(StatusCode.Unsupported, "no"));
        }
        response.Status = new Status { Code = StatusCode.Ok };
        return ValueTask.FromResult(response);
    }

    /// <summary>An id that differs from <paramref name="target"/> only in its last bytes: closer to it than any real node.</summary>
    public static NodeId NextTo(NodeId target, int i)
    {
        var b = target.ToByteArray();
        b[31] ^= (byte)(i + 1);
        b[30] ^= (byte)((i + 1) >> 8);
        return new NodeId(b);
    }

    public static PeerInfo Peer(NodeId id, System.Net.IPEndPoint endPoint) => new()
    {
        NodeId = ByteString.CopyFrom(id.ToByteArray()),
        Address = ByteString.CopyFrom(endPoint.Address.GetAddressBytes()),
        Port = (uint)endPoint.Port,
    };
}
