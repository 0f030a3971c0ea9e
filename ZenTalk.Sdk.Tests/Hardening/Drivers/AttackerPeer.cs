using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// A peer with a TLS node identity of its own that sends requests of its choosing to mesh nodes over the real
/// protocol: the hostile side of the hardening tests. It can bind to a source address of its own (another /24 on
/// loopback, say) to look like another host.
/// </summary>
internal sealed class AttackerPeer : IAsyncDisposable
{
    private readonly TimeSpan _deadline;

    public AttackerPeer(TimeSpan deadline, IPAddress? bindAddress = null)
    {
        _deadline = deadline;
        Identity = NodeIdentity.CreateEphemeral();
        Client = new RpcClient(Identity, new RpcOptions { DefaultCallTimeout = deadline }) { LocalBindAddress = bindAddress };
    }

    public NodeIdentity Identity { get; }

    public RpcClient Client { get; }

    public Task<Response> Send(MeshNode to, Request request) =>
        Client.CallAsync(to.Network.Server.LocalEndPoint, to.Id, request, _deadline, CancellationToken.None);

    /// <summary>Sends and returns the exception the node answered with (null when it accepted).</summary>
    public async Task<MeshStorageException?> Refusal(MeshNode to, Request request)
    {
        try
        {
            await Send(to, request).ConfigureAwait(false);
            return null;
        }
        catch (MeshStorageException e)
        {
            return e;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().ConfigureAwait(false);
        Identity.Dispose();
    }
}
