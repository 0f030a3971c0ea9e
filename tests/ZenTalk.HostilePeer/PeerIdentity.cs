using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ZenTalk.HostilePeer;

/// <summary>
/// This program's own node identity, made as docs/protocol.md §1 says a node's is: an ECDSA P-256 key, its id the
/// SHA-256 of the key's DER SubjectPublicKeyInfo, presented in TLS as a self-signed certificate with CN = the id in hex
/// and an ECDSA-SHA256 signature.
/// </summary>
internal sealed class PeerIdentity : IDisposable
{
    private PeerIdentity(ECDsa key, byte[] id, X509Certificate2 certificate)
    {
        Key = key;
        Id = id;
        Certificate = certificate;
    }

    public ECDsa Key { get; }

    /// <summary>32 bytes: SHA-256 of the public key's SubjectPublicKeyInfo.</summary>
    public byte[] Id { get; }

    public X509Certificate2 Certificate { get; }

    public static PeerIdentity Create()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = SHA256.HashData(key.ExportSubjectPublicKeyInfo());
        var request = new CertificateRequest($"CN={Convert.ToHexStringLower(id)}", key, HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var selfSigned = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        // A PKCS#12 round trip gives a certificate whose key every platform's TLS stack can use (protocol.md §1).
        var certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pkcs12), password: null);
        return new PeerIdentity(key, id, certificate);
    }

    /// <summary>The node id a peer's certificate proves (SHA-256 of its P-256 key's SPKI), or null for any other certificate.</summary>
    public static byte[]? IdOf(X509Certificate? certificate)
    {
        if (certificate is null) return null;
        try
        {
            using var loaded = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            using var key = loaded.GetECDsaPublicKey();
            if (key is null || key.KeySize != 256) return null;
            return SHA256.HashData(loaded.PublicKey.ExportSubjectPublicKeyInfo());
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Key.Dispose();
    }
}
