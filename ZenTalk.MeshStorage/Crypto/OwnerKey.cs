using System.Formats.Asn1;
using System.Security.Cryptography;

using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>
/// A file owner's key pair. The owner signs each manifest and each later operation on the file (delete, republish),
/// and nodes check those signatures against <see cref="PublicKey"/>. Two kinds (<see cref="OwnerKeyAlgorithm"/>): RSA
/// with RSASSA-PSS, the default, or ECDSA P-256, whose signatures cost the signer far less. Keep the private key on the
/// owner's device; export it only to back it up.
/// </summary>
public sealed class OwnerKey : IDisposable
{
    /// <summary>The smallest accepted RSA modulus size (bits).</summary>
    public const int MinimumKeySizeInBits = OwnerKeyPolicy.MinRsaModulusBits;

    /// <summary>The largest accepted RSA modulus size (bits): nodes refuse larger keys, which cost them more to check.</summary>
    public const int MaximumKeySizeInBits = OwnerKeyPolicy.MaxRsaModulusBits;

    /// <summary>The RSA modulus size <see cref="Generate()"/> uses (bits).</summary>
    public const int DefaultKeySizeInBits = 3072;

    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";

    private readonly AsymmetricAlgorithm _key;
    private readonly Lock _lock = new();

    private OwnerKey(AsymmetricAlgorithm key, string paramName)
    {
        _key = key;
        PublicKey = OwnerPublicKey.FromKey(key, paramName);
    }

    /// <summary>The public half, to publish or to embed in manifests.</summary>
    public OwnerPublicKey PublicKey { get; }

    /// <summary>The key's signature scheme.</summary>
    public OwnerKeyAlgorithm Algorithm => PublicKey.Algorithm;

    /// <summary>Generates a new key pair of the default kind: RSA-3072 (exponent 65537), RSASSA-PSS.</summary>
    /// <returns>The new key; dispose it when done.</returns>
    public static OwnerKey Generate() => Generate(DefaultKeySizeInBits);

    /// <summary>Generates a new RSA key pair (exponent 65537).</summary>
    /// <param name="keySizeInBits">The RSA modulus size: 2048 to 4096, a multiple of 8.</param>
    /// <returns>The new key; dispose it when done.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The size is outside 2048..4096 or not a multiple of 8.</exception>
    public static OwnerKey Generate(int keySizeInBits)
    {
        if (keySizeInBits is < MinimumKeySizeInBits or > MaximumKeySizeInBits || keySizeInBits % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(keySizeInBits), keySizeInBits,
                $"Owner RSA keys are {MinimumKeySizeInBits} to {MaximumKeySizeInBits} bits, a multiple of 8.");
        }

        return new OwnerKey(RSA.Create(keySizeInBits), nameof(keySizeInBits));
    }

    /// <summary>Generates a new key pair of the given kind: RSA-3072 or ECDSA P-256.</summary>
    /// <param name="algorithm">The kind of key.</param>
    /// <returns>The new key; dispose it when done.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="algorithm"/> is not a defined value.</exception>
    public static OwnerKey Generate(OwnerKeyAlgorithm algorithm) => algorithm switch
    {
        OwnerKeyAlgorithm.Rsa => Generate(DefaultKeySizeInBits),
        OwnerKeyAlgorithm.EcdsaP256 => new OwnerKey(ECDsa.Create(ECCurve.NamedCurves.nistP256), nameof(algorithm)),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Owner keys are RSA or ECDSA P-256."),
    };

    /// <summary>Reads a private key from PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>), RSA or ECDSA P-256.</summary>
    /// <param name="pem">The PEM text, e.g. from <see cref="ExportPrivateKeyPem"/>.</param>
    /// <returns>The key pair; dispose it when done.</returns>
    /// <exception cref="ArgumentException">
    /// The text is not an unencrypted PKCS#8 private key, or the key is outside the owner key policy (RSA with a 2048-
    /// to 4096-bit modulus and exponent 65537, or ECDSA P-256).
    /// </exception>
    public static OwnerKey ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        AsymmetricAlgorithm? key = null;
        byte[]? der = null;
        try
        {
            var fields = PemEncoding.Find(pem);
            if (!pem.AsSpan()[fields.Label].SequenceEqual("PRIVATE KEY"))
            {
                throw new ArgumentException("Expected a PKCS#8 PEM block labelled PRIVATE KEY.", nameof(pem));
            }

            der = Convert.FromBase64String(pem[fields.Base64Data]);
            key = PrivateKeyAlgorithm(der) switch
            {
                RsaEncryptionOid => RSA.Create(),
                EcPublicKeyOid => ECDsa.Create(),
                var other => throw new ArgumentException($"The private key's algorithm {other} is neither RSA nor ECDSA.", nameof(pem)),
            };
            key.ImportPkcs8PrivateKey(der, out _);
            return new OwnerKey(key, nameof(pem));
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or FormatException or AsnContentException)
        {
            key?.Dispose();
            if (e is ArgumentException { ParamName: "pem" })
            {
                throw;
            }

            throw new ArgumentException("The text is not an RSA or ECDSA private key in PKCS#8 PEM form.", nameof(pem), e);
        }
        finally
        {
            if (der is not null) CryptographicOperations.ZeroMemory(der);
        }
    }

    /// <summary>The algorithm OID of a PKCS#8 PrivateKeyInfo (RFC 5208): SEQUENCE { version, AlgorithmIdentifier, ... }.</summary>
    private static string PrivateKeyAlgorithm(ReadOnlySpan<byte> pkcs8)
    {
        const AsnEncodingRules Ber = AsnEncodingRules.BER;
        AsnDecoder.ReadSequence(pkcs8, Ber, out int offset, out int length, out _);
        var info = pkcs8.Slice(offset, length);
        AsnDecoder.ReadEncodedValue(info, Ber, out _, out _, out int versionLength);
        AsnDecoder.ReadSequence(info[versionLength..], Ber, out int algOffset, out int algLength, out _);
        return AsnDecoder.ReadObjectIdentifier(info.Slice(versionLength + algOffset, algLength), Ber, out _);
    }

    /// <summary>Exports the private key as unencrypted PKCS#8 PEM. Treat the result as a secret.</summary>
    /// <returns>The PEM text.</returns>
    public string ExportPrivateKeyPem()
    {
        lock (_lock)
        {
            return _key.ExportPkcs8PrivateKeyPem();
        }
    }

    /// <summary>
    /// Signs <paramref name="data"/>: RSASSA-PSS / SHA-256 for an RSA key, ECDSA / SHA-256 (IEEE P1363, 64 bytes) for a
    /// P-256 key. Callers add their own domain prefix. The one place an owner signature is made.
    /// </summary>
    internal byte[] Sign(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            return _key is RSA rsa
                ? rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)
                : ((ECDsa)_key).SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <summary>Releases the key material.</summary>
    public void Dispose() => _key.Dispose();

    /// <summary>A description that never contains key material.</summary>
    /// <returns>The public key's kind and id.</returns>
    public override string ToString() => $"OwnerKey({OwnerPublicKey.Describe(PublicKey.Algorithm, PublicKey.KeySizeInBits)}, {PublicKey.Id})";
}
