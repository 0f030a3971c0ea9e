using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Opens a connection: TLS 1.3 with node certificates on both sides (each side checks the other's key hash), then
/// the version exchange (dialer sends Hello; listener answers with its Hello or an UNSUPPORTED_VERSION error). In a
/// private network (<see cref="RpcOptions.PrivateNetwork"/>) both Hellos also carry the membership proof, and each
/// side refuses a peer whose proof is missing or wrong before anything else is sent or served.
/// </summary>
internal static class RpcHandshake
{
    public static async Task<RpcConnection> DialAsync(Stream transport, IPEndPoint remote, NodeId localId, NodeId? expectedId,
        SslStreamCertificateContext localCertificate, RpcOptions options, int localListenPort, ILogger logger,
        CancellationToken cancellationToken)
    {
        NodeId? seen = null;
        string? refusal = null;
        var ssl = RpcTransport.Secure(transport, out var records);
        // Trust is the key hash: the chain (self-signed) and names do not matter, the expected id does.
        var tls = RpcTransport.ClientOptions(localCertificate, (_, certificate, _, _) =>
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
        });
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
            var peer = seen!.Value;
            reader = new FrameReader(ssl, RpcOptions.MaxHandshakeFrameSize);
            var writer = new FrameWriter(ssl, options.MaxFrameSize, options.SendQueueCapacity, records);
            var hello = LocalHello(options, localListenPort);
            options.PrivateNetwork?.ProveDialer(hello, localId, peer);
            await writer.WriteDirectAsync(new Frame { Hello = hello }, cancellationToken).ConfigureAwait(false);
            var answer = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ProtocolException($"Peer {remote} closed the connection during the version exchange.");
            if (answer.BodyCase == Frame.BodyOneofCase.Response && answer.Response.Status is { } status)
            {
                string message = $"Peer {remote} refused the connection: {status.Code}: {status.Message}";
                throw status.Code == StatusCode.Unauthorized ? new PrivateNetworkException(message) : new ProtocolException(message);
            }
            if (answer.BodyCase != Frame.BodyOneofCase.Hello)
                throw new ProtocolException($"Peer {remote} answered the version exchange with a {answer.BodyCase} frame.");
            CheckVersion(answer.Hello, remote, options);
            if (options.PrivateNetwork is { } network && network.CheckListener(answer.Hello, hello, localId, peer) is { } why)
            {
                logger.NotNetworkMember(remote, peer, network.Id, why);
                throw new PrivateNetworkException($"Peer {remote} ({peer.ToString()[..12]}) is not a member of private network {network.Id}: {why}.");
            }
            reader.MaxFrameSize = options.MaxFrameSize;
            var connection = new RpcConnection(ssl, reader, writer, options, logger, isDialer: true, peer, remote, answer.Hello);
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

    public static async Task<RpcConnection> AcceptAsync(Stream transport, IPEndPoint remote, NodeId localId,
        SslStreamCertificateContext localCertificate, RpcOptions options, int localListenPort, ILogger logger,
        CancellationToken cancellationToken)
    {
        NodeId? seen = null;
        var ssl = RpcTransport.Secure(transport, out var records);
        // The listener has no expectation: it records the id the dialer's key proves.
        var tls = RpcTransport.ServerOptions(localCertificate, (_, certificate, _, _) =>
        {
            seen = NodeCertificate.PeerId(certificate);
            return seen is not null;
        });
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
            var peer = seen!.Value;
            reader = new FrameReader(ssl, RpcOptions.MaxHandshakeFrameSize);
            var writer = new FrameWriter(ssl, options.MaxFrameSize, options.SendQueueCapacity, records);
            var hello = await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ?? throw new ProtocolException($"Peer {remote} closed the connection before the version exchange.");
            if (hello.BodyCase != Frame.BodyOneofCase.Hello)
                throw new ProtocolException($"Peer {remote} sent a {hello.BodyCase} frame before the version exchange.");
            var network = options.PrivateNetwork;
            var offered = hello.Hello;
            (StatusCode Code, string Message)? refusal =
                // A member refuses any peer it could otherwise talk to unless it proves membership (a peer of protocol 2
                // included: upgrading alone would not admit it), before it sends anything of its own.
                network is not null && Compatible(offered, RpcOptions.MinProtocolVersion) && network.CheckDialer(offered, peer, localId) is { } why
                    ? (StatusCode.Unauthorized, $"This node admits only members of private network {network.Id}; the peer is refused: {why}.")
                : !Compatible(offered, options)
                    ? (StatusCode.UnsupportedVersion, $"This node speaks protocol versions {MinVersion(options)}..{RpcOptions.ProtocolVersion}; " +
                        $"the peer offered {offered.MinProtocolVersion}..{offered.ProtocolVersion}. Upgrade the older node.")
                : network is null && !offered.NetworkProof.IsEmpty
                    ? (StatusCode.Unauthorized, "This node is not in a private network; the peer is a member of one and would refuse it.")
                : null;
            if (refusal is { } r)
            {
                await writer.WriteDirectAsync(new Frame { Response = RpcStatus.Error(r.Code, r.Message) }, cancellationToken).ConfigureAwait(false);
                if (r.Code != StatusCode.Unauthorized) throw new ProtocolException($"Peer {remote}: {r.Message}");
                logger.HandshakeRefused(remote, peer, r.Message);
                throw new PrivateNetworkException($"Peer {remote} ({peer.ToString()[..12]}): {r.Message}");
            }

            var answer = LocalHello(options, localListenPort);
            network?.ProveListener(answer, offered, peer, localId);
            await writer.WriteDirectAsync(new Frame { Hello = answer }, cancellationToken).ConfigureAwait(false);
            reader.MaxFrameSize = options.MaxFrameSize;
            return new RpcConnection(ssl, reader, writer, options, logger, isDialer: false, peer, remote, hello.Hello);
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
        MinProtocolVersion = MinVersion(options),
        ListenPort = (uint)listenPort,
        MaxFrameSize = (uint)options.MaxFrameSize,
        Agent = options.Agent,
    };

    /// <summary>The oldest version this node accepts: a member of a private network needs the version that carries the proof.</summary>
    private static uint MinVersion(RpcOptions options) =>
        options.PrivateNetwork is null ? RpcOptions.MinProtocolVersion : Math.Max(RpcOptions.MinProtocolVersion, PrivateNetwork.MinProtocolVersion);

    private static bool Compatible(Hello peer, RpcOptions options) => Compatible(peer, MinVersion(options));

    private static bool Compatible(Hello peer, uint min) =>
        peer.ProtocolVersion >= min && peer.MinProtocolVersion <= RpcOptions.ProtocolVersion
        && peer.MinProtocolVersion <= peer.ProtocolVersion;

    private static void CheckVersion(Hello peer, IPEndPoint remote, RpcOptions options)
    {
        if (!Compatible(peer, options))
            throw new ProtocolException($"Peer {remote} speaks protocol versions {peer.MinProtocolVersion}..{peer.ProtocolVersion}; " +
                $"this node speaks {MinVersion(options)}..{RpcOptions.ProtocolVersion}.");
    }
}
