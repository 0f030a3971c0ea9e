using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Opens a connection: TLS 1.3 with node certificates on both sides (each side checks the other's key hash), then
/// the version exchange (dialer sends Hello; listener answers with its Hello or an UNSUPPORTED_VERSION error).
/// </summary>
internal static class RpcHandshake
{
    private const string TlsTargetHost = "zentalk-mesh";

    public static async Task<RpcConnection> DialAsync(Stream transport, IPEndPoint remote, NodeId? expectedId,
        SslStreamCertificateContext localCertificate, RpcOptions options, int localListenPort, ILogger logger,
        CancellationToken cancellationToken)
    {
        NodeId? seen = null;
        string? refusal = null;
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var tls = new SslClientAuthenticationOptions
        {
            TargetHost = TlsTargetHost,
            EnabledSslProtocols = SslProtocols.Tls13,
            ClientCertificateContext = localCertificate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // Trust is the key hash: the chain (self-signed) and names do not matter, the expected id does.
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                seen = NodeCertificate.PeerId(certificate);
                if (seen is null)
                {
                    refusal = "the peer presented no ECDSA P-256 node certificate";
                    return false;
                }
                if (expectedId is { } expected && seen != expected)
                {
                    refusal = $"the peer's key hashes to {seen}, not the expected node id {expected}";
                    return false;
                }
                return true;
            },
        };
        FrameReader? reader = null;
        try
        {
            try
            {
                await ssl.AuthenticateAsClientAsync(tls, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationException ex)
            {
                throw new ProtocolException($"TLS handshake with {remote} failed: {refusal ?? ex.Message}.", ex);
            }
            reader = new FrameReader(ssl, RpcOptions.MaxHandshakeFrameSize);
            var writer = new FrameWriter(ssl, options.MaxFrameSize, options.SendQueueCapacity);
            await writer.WriteDirectAsync(new Frame { Hello = LocalHello(options, localListenPort) }, cancellationToken).ConfigureAwait(false);
            var answer = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ProtocolException($"Peer {remote} closed the connection during the version exchange.");
            if (answer.BodyCase == Frame.BodyOneofCase.Response && answer.Response.Status is { } status)
                throw new ProtocolException($"Peer {remote} refused the connection: {status.Code}: {status.Message}");
            if (answer.BodyCase != Frame.BodyOneofCase.Hello)
                throw new ProtocolException($"Peer {remote} answered the version exchange with a {answer.BodyCase} frame.");
            CheckVersion(answer.Hello, remote);
            reader.MaxFrameSize = options.MaxFrameSize;
            var connection = new RpcConnection(ssl, reader, writer, options, logger, isDialer: true, seen!.Value, remote, answer.Hello);
            connection.StartDialer();
            return connection;
        }
        catch
        {
            reader?.Dispose();
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static async Task<RpcConnection> AcceptAsync(Stream transport, IPEndPoint remote,
        SslStreamCertificateContext localCertificate, RpcOptions options, int localListenPort, ILogger logger,
        CancellationToken cancellationToken)
    {
        NodeId? seen = null;
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
        var tls = new SslServerAuthenticationOptions
        {
            EnabledSslProtocols = SslProtocols.Tls13,
            ServerCertificateContext = localCertificate,
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // The listener has no expectation: it records the id the dialer's key proves.
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                seen = NodeCertificate.PeerId(certificate);
                return seen is not null;
            },
        };
        FrameReader? reader = null;
        try
        {
            try
            {
                await ssl.AuthenticateAsServerAsync(tls, cancellationToken).ConfigureAwait(false);
            }
            catch (AuthenticationException ex)
            {
                throw new ProtocolException($"TLS handshake from {remote} failed: {ex.Message}", ex);
            }
            reader = new FrameReader(ssl, RpcOptions.MaxHandshakeFrameSize);
            var writer = new FrameWriter(ssl, options.MaxFrameSize, options.SendQueueCapacity);
            var hello = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ProtocolException($"Peer {remote} closed the connection before the version exchange.");
            if (hello.BodyCase != Frame.BodyOneofCase.Hello)
                throw new ProtocolException($"Peer {remote} sent a {hello.BodyCase} frame before the version exchange.");
            if (!Compatible(hello.Hello))
            {
                string message = $"This node speaks protocol versions {RpcOptions.MinProtocolVersion}..{RpcOptions.ProtocolVersion}; " +
                    $"the peer offered {hello.Hello.MinProtocolVersion}..{hello.Hello.ProtocolVersion}. Upgrade the older node.";
                await writer.WriteDirectAsync(new Frame { Response = RpcStatus.Error(StatusCode.UnsupportedVersion, message) }, cancellationToken).ConfigureAwait(false);
                throw new ProtocolException($"Peer {remote}: {message}");
            }
            await writer.WriteDirectAsync(new Frame { Hello = LocalHello(options, localListenPort) }, cancellationToken).ConfigureAwait(false);
            reader.MaxFrameSize = options.MaxFrameSize;
            return new RpcConnection(ssl, reader, writer, options, logger, isDialer: false, seen!.Value, remote, hello.Hello);
        }
        catch
        {
            reader?.Dispose();
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    internal static Hello LocalHello(RpcOptions options, int listenPort) => new()
    {
        ProtocolVersion = RpcOptions.ProtocolVersion,
        MinProtocolVersion = RpcOptions.MinProtocolVersion,
        ListenPort = (uint)listenPort,
        MaxFrameSize = (uint)options.MaxFrameSize,
        Agent = options.Agent,
    };

    private static bool Compatible(Hello peer) =>
        peer.ProtocolVersion >= RpcOptions.MinProtocolVersion && peer.MinProtocolVersion <= RpcOptions.ProtocolVersion
        && peer.MinProtocolVersion <= peer.ProtocolVersion;

    private static void CheckVersion(Hello peer, IPEndPoint remote)
    {
        if (!Compatible(peer))
            throw new ProtocolException($"Peer {remote} speaks protocol versions {peer.MinProtocolVersion}..{peer.ProtocolVersion}; " +
                $"this node speaks {RpcOptions.MinProtocolVersion}..{RpcOptions.ProtocolVersion}.");
    }
}
