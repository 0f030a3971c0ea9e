using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// How every mesh connection is carried, in one place: the socket's settings, the stream stack under TLS, and the TLS
/// 1.3 options of both roles. The handshake uses it for every connection, and the benchmarks' TLS floor
/// (<c>benchmarks/…/Mesh/TlsFloor.cs</c>) uses it to send bare bytes exactly as the mesh would.
/// </summary>
internal static class RpcTransport
{
    /// <summary>The name the dialer puts in its TLS ClientHello; nobody checks it (trust is the key hash).</summary>
    private const string TlsTargetHost = "zentalk-mesh";

    /// <summary>Settings of every connected mesh socket, dialed or accepted.</summary>
    public static void Configure(Socket socket) => socket.NoDelay = true;

    /// <summary>The TLS stream over a connection's transport (which it owns), with the stream under it that gathers
    /// the TLS records of a corked batch into one send (<see cref="RecordCoalescingStream"/>).</summary>
    public static SslStream Secure(Stream transport, out RecordCoalescingStream records)
    {
        records = new RecordCoalescingStream(transport);
        return new SslStream(records, leaveInnerStreamOpen: false);
    }

    /// <summary>The dialer's TLS options: TLS 1.3 only, its node certificate, no revocation or chain checks;
    /// <paramref name="validate"/> decides on the peer's certificate.</summary>
    public static SslClientAuthenticationOptions ClientOptions(SslStreamCertificateContext local, RemoteCertificateValidationCallback validate) => new()
    {
        TargetHost = TlsTargetHost,
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = local,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = validate,
    };

    /// <summary>The listener's TLS options: TLS 1.3 only, its node certificate, a client certificate required;
    /// <paramref name="validate"/> decides on the peer's certificate.</summary>
    public static SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext local, RemoteCertificateValidationCallback validate) => new()
    {
        EnabledSslProtocols = SslProtocols.Tls13,
        ServerCertificateContext = local,
        ClientCertificateRequired = true,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = validate,
    };
}
