using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// The self-signed TLS certificate a node presents, made from its node key, and the check that binds a peer's
/// certificate to a <see cref="NodeId"/>. Trust comes from the key hash, not from a CA chain or the certificate's
/// names and dates: a peer is who its key says it is, and TLS proves it holds that key.
/// </summary>
internal static class NodeCertificate
{
    /// <summary>Creates the node's certificate (subject CN = node id hex, ECDSA-SHA256 self-signature).</summary>
    public static X509Certificate2 Create(NodeIdentity identity)
    {
        var request = new CertificateRequest($"CN={identity.Id}", identity.Key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var ephemeral = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(20));
        // Windows' TLS stack cannot use an ephemeral (in-memory) key; a PKCS#12 round trip gives every platform
        // a certificate whose key SslStream can use. Linux and macOS accept either; this keeps one code path.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>
    /// The node id a peer certificate stands for, or null when the certificate is unusable as a node certificate
    /// (missing, or its key is not ECDSA P-256).
    /// </summary>
    public static NodeId? PeerId(X509Certificate? certificate)
    {
        if (certificate is null) return null;
        try
        {
            using var cert = certificate as X509Certificate2 is { } c2 ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var x = (certificate as X509Certificate2) ?? cert!;
            using var ec = x.GetECDsaPublicKey();
            if (ec is null || ec.KeySize != 256) return null;
            return NodeId.FromPublicKey(x.PublicKey.ExportSubjectPublicKeyInfo());
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
