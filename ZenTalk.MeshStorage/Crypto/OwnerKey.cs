using System.Security.Cryptography;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// A file owner's RSA key pair. The owner signs each manifest and each later operation on the file (delete,
/// republish), and nodes check those signatures against <see cref="PublicKey"/>. Signatures are RSASSA-PSS with
/// SHA-256 and a 32-byte salt. Keep the private key on the owner's device; export it only to back it up.
/// </summary>
public sealed class OwnerKey : IDisposable
{
    /// <summary>The smallest accepted modulus size (bits).</summary>
    public const int MinimumKeySizeInBits = 2048;

    /// <summary>The modulus size <see cref="Create"/> uses by default (bits).</summary>
    public const int DefaultKeySizeInBits = 3072;

    private readonly RSA _rsa;
    private readonly Lock _lock = new();

    private OwnerKey(RSA rsa)
    {
        _rsa = rsa;
        PublicKey = OwnerPublicKey.FromRsa(rsa, "rsa");
    }

    /// <summary>The public half, to publish or to embed in manifests.</summary>
    public OwnerPublicKey PublicKey { get; }

    /// <summary>Generates a new key pair.</summary>
    /// <param name="keySizeInBits">The RSA modulus size: at least 2048; 3072 by default.</param>
    /// <returns>The new key; dispose it when done.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The size is below 2048 or not a multiple of 8.</exception>
    public static OwnerKey Create(int keySizeInBits = DefaultKeySizeInBits)
    {
        if (keySizeInBits < MinimumKeySizeInBits || keySizeInBits > 16384 || keySizeInBits % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keySizeInBits), keySizeInBits,
                $"Owner keys are RSA keys of {MinimumKeySizeInBits} to 16384 bits, a multiple of 8.");
        }

        return new OwnerKey(RSA.Create(keySizeInBits));
    }

    /// <summary>Reads a private key from PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>).</summary>
    /// <param name="pem">The PEM text, e.g. from <see cref="ExportPrivateKeyPem"/>.</param>
    /// <returns>The key pair; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The text is not an unencrypted PKCS#8 RSA private key, or the key is shorter than 2048 bits.</exception>
    public static OwnerKey ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var rsa = RSA.Create();
        try
        {
            var fields = PemEncoding.Find(pem);
            if (!pem.AsSpan()[fields.Label].SequenceEqual("PRIVATE KEY"))
            {
                throw new ArgumentException("Expected a PKCS#8 PEM block labelled PRIVATE KEY.", nameof(pem));
            }

            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            try
            {
                rsa.ImportPkcs8PrivateKey(der, out _);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
            }

            return new OwnerKey(rsa);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or FormatException)
        {
            rsa.Dispose();
            if (e is ArgumentException { ParamName: "pem" })
            {
                throw;
            }

            throw new ArgumentException("The text is not an RSA private key in PKCS#8 PEM form.", nameof(pem), e);
        }
    }

    /// <summary>Exports the private key as unencrypted PKCS#8 PEM. Treat the result as a secret.</summary>
    /// <returns>The PEM text.</returns>
    public string ExportPrivateKeyPem()
    {
        lock (_lock)
        {
            return _rsa.ExportPkcs8PrivateKeyPem();
        }
    }

    /// <summary>Signs <paramref name="data"/> with RSASSA-PSS / SHA-256. Callers add their own domain prefix.</summary>
    internal byte[] Sign(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            return _rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        }
    }

    /// <summary>Releases the key material.</summary>
    public void Dispose() => _rsa.Dispose();

    /// <summary>A description that never contains key material.</summary>
    /// <returns>The public key's id and size.</returns>
    public override string ToString() => $"OwnerKey({PublicKey.KeySizeInBits} bits, {PublicKey.Id})";
}
