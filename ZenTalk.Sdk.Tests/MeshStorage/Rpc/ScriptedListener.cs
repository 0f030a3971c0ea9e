using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>
/// A listener on 127.0.0.1 that does the TLS side of a node (its own node certificate, a client certificate required)
/// and then runs a script on each connection instead of the protocol: an old version, a peer that drops calls, a relay.
/// </summary>
internal sealed class ScriptedListener : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="script">Runs on each accepted connection after TLS, given the connection's index (0, 1, ...).</param>
    public ScriptedListener(Func<int, SslStream, Task> script)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        var tls = new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ServerCertificateContext = SslStreamCertificateContext.Create(NodeCertificate.Create(Identity), null, offline: true),
            ClientCertificateRequired = true,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        };
        _accepting = Task.Run(async () =>
        {
            var sessions = new List<Task>();
            try
            {
                for (int index = 0; ; index++)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    int n = index;
                    sessions.Add(Task.Run(async () =>
                    {
                        using (socket)
                        {
                            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
                            await ssl.AuthenticateAsServerAsync(tls, _stop.Token);
                            await script(n, ssl);
                        }
                    }));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // Stopped.
            }

            try
            {
                await Task.WhenAll(sessions);
            }
            catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
            {
                // A session ended with its connection.
            }
        });
    }

    /// <summary>The node identity the listener proves in TLS.</summary>
    public NodeIdentity Identity { get; } = NodeIdentity.CreateEphemeral();

    /// <summary>Where to call it.</summary>
    public PeerContact Contact => new(Identity.Id, (IPEndPoint)_listener.LocalEndPoint!);

    /// <summary>Reads until the other side closes (a session that only waits to be left).</summary>
    public static async Task DrainAsync(Stream stream)
    {
        var rest = new byte[256];
        try
        {
            while (await stream.ReadAsync(rest) > 0)
            {
            }
        }
        catch (IOException)
        {
            // A reset instead of a clean close is just as closed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        Identity.Dispose();
        _stop.Dispose();
    }
}
