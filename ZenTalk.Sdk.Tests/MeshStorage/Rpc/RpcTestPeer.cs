using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>A server and a client with one identity on 127.0.0.1, OS-chosen port.</summary>
internal sealed class RpcTestPeer : IAsyncDisposable
{
    public RpcTestPeer(RpcOptions options, IShardRequestHandler? shards = null, IRpcRequestHandler? handler = null)
    {
        Identity = NodeIdentity.CreateEphemeral();
        Router = new MeshRequestRouter(Identity.Id) { Shards = shards };
        Server = new RpcServer(Identity, options, handler ?? Router);
        Server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        Client = new RpcClient(Identity, options) { LocalListenPort = Server.LocalEndPoint.Port };
    }

    public NodeIdentity Identity { get; }
    public MeshRequestRouter Router { get; }
    public RpcServer Server { get; }
    public RpcClient Client { get; }
    public PeerContact Contact => new(Identity.Id, Server.LocalEndPoint);

    // Short server timeouts, for tests that wait for a hostile peer to be cut off. Not so short that a loaded
    // 2-core CI machine trips them during an honest TLS handshake or a 1 MiB frame.
    public static RpcOptions FastOptions => new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(3),
        ReadTimeout = TimeSpan.FromSeconds(2),
        IdleTimeout = TimeSpan.FromSeconds(4),
        DefaultCallTimeout = TimeSpan.FromSeconds(5),
    };

    // For tests of honest traffic: deadlines are passed per call, so server timeouts only need to stay out of the way.
    public static RpcOptions RoomyOptions => new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(15),
        ReadTimeout = TimeSpan.FromSeconds(15),
        IdleTimeout = TimeSpan.FromSeconds(30),
        DefaultCallTimeout = TimeSpan.FromSeconds(15),
    };

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        Identity.Dispose();
    }
}
