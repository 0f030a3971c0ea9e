using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// A <see cref="DhtNetworkNode"/> on real TLS sockets whose DHT calls go through a <see cref="GuardedTransport"/>: the
/// test sees every address the node tried to reach, and nothing leaves loopback.
/// </summary>
internal sealed class GuardedDhtNode : IAsyncDisposable
{
    private readonly NodeIdentity _identity;

    private GuardedDhtNode(NodeIdentity identity, DhtNetworkNode node, GuardedTransport guard)
    {
        _identity = identity;
        Node = node;
        Guard = guard;
    }

    public DhtNetworkNode Node { get; }
    public GuardedTransport Guard { get; }
    public DhtNode Dht => Node.Dht;
    public PeerContact Contact => Node.Contact;

    public static GuardedDhtNode Start(IPAddress address, RpcOptions rpc, DhtOptions options, TimeProvider? time = null)
    {
        var identity = NodeIdentity.CreateEphemeral();
        GuardedTransport? guard = null;
        var node = DhtNetworkNode.Start(identity, new IPEndPoint(address, 0), rpc, options, time: time, transport: t => guard = new GuardedTransport(t));
        return new GuardedDhtNode(identity, node, guard!);
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        _identity.Dispose();
    }
}
