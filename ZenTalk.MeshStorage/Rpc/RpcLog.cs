using System.Net;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>The RPC layer's log messages (source-generated), event ids 2000-2999 (ranges in MeshNodeLog).</summary>
internal static partial class RpcLog
{
    [LoggerMessage(2000, LogLevel.Information, "Refused peer {Remote} ({Id}): not a member of private network {Network}: {Reason}")]
    public static partial void NotNetworkMember(this ILogger logger, IPEndPoint remote, NodeId id, string network, string reason);

    [LoggerMessage(2001, LogLevel.Warning, "Refused peer {Remote} ({Id}) in the handshake: {Reason}")]
    public static partial void HandshakeRefused(this ILogger logger, IPEndPoint remote, NodeId id, string reason);

    [LoggerMessage(2002, LogLevel.Debug, "Accept failed")]
    public static partial void AcceptFailed(this ILogger logger, Exception exception);

    [LoggerMessage(2003, LogLevel.Debug, "Refused connection from {Remote}: {Limit}")]
    public static partial void ConnectionRefused(this ILogger logger, IPEndPoint remote, string limit);

    [LoggerMessage(2004, LogLevel.Debug, "Handshake from {Remote} failed: {Reason}")]
    public static partial void HandshakeFailed(this ILogger logger, IPEndPoint remote, string reason);

    [LoggerMessage(2005, LogLevel.Debug, "Evicting the idle connection from {Remote} to make room (its prefix holds {Count})")]
    public static partial void EvictingIdle(this ILogger logger, IPEndPoint remote, int count);

    [LoggerMessage(2006, LogLevel.Warning, "Request {Kind} from {Peer} failed")]
    public static partial void RequestFailed(this ILogger logger, Exception exception, Request.KindOneofCase kind, IPEndPoint peer);

    [LoggerMessage(2007, LogLevel.Debug, "Connection to {Peer} ({Id}) dropped: {Reason}")]
    public static partial void ConnectionDropped(this ILogger logger, IPEndPoint peer, NodeId id, string reason);

    [LoggerMessage(2008, LogLevel.Debug, "Idle connection to {Peer} closed")]
    public static partial void IdleConnectionClosed(this ILogger logger, IPEndPoint peer);
}
