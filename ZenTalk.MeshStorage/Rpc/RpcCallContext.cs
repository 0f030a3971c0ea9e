using System.Net;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>Who sent a request: the id proven in the TLS handshake and where it can be called back.</summary>
/// <param name="RemoteId">The caller's node id (its certificate key hashes to it).</param>
/// <param name="RemoteAddress">The caller's IP address.</param>
/// <param name="RemoteListenPort">The port the caller accepts connections on (0 = it does not listen).</param>
internal sealed record RpcCallContext(NodeId RemoteId, IPAddress RemoteAddress, int RemoteListenPort)
{
    /// <summary>The caller as a contact for the routing table, when it listens.</summary>
    public PeerContact? Contact => RemoteListenPort is > 0 and <= 65535
        ? new PeerContact(RemoteId, new IPEndPoint(RemoteAddress, RemoteListenPort))
        : null;
}
