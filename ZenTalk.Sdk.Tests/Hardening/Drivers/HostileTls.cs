using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>The TLS side of a hostile peer (the tests' <c>HostileClient</c> and the load driver use it).</summary>
internal static class HostileTls
{
    /// <summary>What a node's client side offers: TLS 1.3 with <paramref name="identity"/>'s node certificate.</summary>
    public static SslClientAuthenticationOptions ClientOptions(NodeIdentity identity) => new()
    {
        TargetHost = "zentalk-mesh",
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateContext = SslStreamCertificateContext.Create(NodeCertificate.Create(identity), null, offline: true),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        RemoteCertificateValidationCallback = (_, _, _, _) => true,
    };
}
