using System.Collections.Concurrent;
using System.Security.Cryptography;

using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>
/// The public half of an <see cref="OwnerKey"/>: enough to check that a manifest or an operation (delete,
/// republish) was signed by the file's owner, never enough to sign. The key's type decides the scheme
/// (<see cref="Algorithm"/>): RSASSA-PSS with SHA-256 for RSA keys, ECDSA with SHA-256 for P-256 keys.
/// </summary>
public sealed class OwnerPublicKey : IEquatable<OwnerPublicKey>
{
    /// <summary>How many parsed keys <see cref="FromSubjectPublicKeyInfo"/> keeps (a node sees few owners often).</summary>
    private const int CacheLimit = 1024;

    /// <summary>The length of an ECDSA P-256 signature in IEEE P1363 form (r ‖ s).</summary>
    private const int EcdsaP256SignatureLength = 64;

    /// <summary>
    /// Parsed keys by SHA-256 of the bytes they were read from. Parsing an RSA key (import, re-export to canonical
    /// DER) costs ~0.25 ms and a fresh import per verification another ~0.1 ms, against ~0.04 ms for the check
    /// itself; every manifest, tombstone and delete of one owner carries the same key.
    /// </summary>
    private static readonly ConcurrentDictionary<Sha256Hash, OwnerPublicKey> Parsed = new();

    private readonly byte[] _spki;
    private readonly Lock _verifierLock = new();
    private AsymmetricAlgorithm? _verifier; // created on first use, guarded by _verifierLock

    private OwnerPublicKey(byte[] subjectPublicKeyInfo, OwnerKeyAlgorithm algorithm, int keySizeInBits)
    {
        _spki = subjectPublicKeyInfo;
        Algorithm = algorithm;
        KeySizeInBits = keySizeInBits;
        Id = Sha256Hash.Compute(_spki).ToString();
    }

    /// <summary>The signature scheme the key signs with.</summary>
    public OwnerKeyAlgorithm Algorithm { get; }

    /// <summary>The key size in bits: the RSA modulus size, or 256 for ECDSA P-256.</summary>
    public int KeySizeInBits { get; }

    /// <summary>The key's identifier: lower-case hex SHA-256 of its DER SubjectPublicKeyInfo (64 characters).</summary>
    public string Id { get; }

    internal ReadOnlySpan<byte> SubjectPublicKeyInfo => _spki;

    /// <summary>Reads a public key from PEM (<c>-----BEGIN PUBLIC KEY-----</c>, X.509 SubjectPublicKeyInfo).</summary>
    /// <param name="pem">The PEM text.</param>
    /// <returns>The public key.</returns>
    /// <exception cref="ArgumentException">
    /// The text is not a public key PEM, or the key is outside the owner key policy (RSA with a 2048- to 4096-bit
    /// modulus and exponent 65537, or ECDSA P-256).
    /// </exception>
    public static OwnerPublicKey ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        byte[] der;
        try
        {
            var fields = PemEncoding.Find(pem);
            if (!pem.AsSpan()[fields.Label].SequenceEqual("PUBLIC KEY"))
                throw new ArgumentException("Expected a PEM block labelled PUBLIC KEY (SubjectPublicKeyInfo).", nameof(pem));
            der = Convert.FromBase64String(pem[fields.Base64Data]);
        }
        catch (Exception e) when (e is FormatException or ArgumentException { ParamName: not nameof(pem) })
        {
            throw new ArgumentException("The text is not a public key in PEM (SubjectPublicKeyInfo) form.", nameof(pem), e);
        }

        try
        {
            return Parse(der);
        }
        catch (IntegrityException e)
        {
            throw new ArgumentException(e.Message, nameof(pem), e);
        }
    }

    /// <summary>Exports the key as PEM (<c>-----BEGIN PUBLIC KEY-----</c>, X.509 SubjectPublicKeyInfo).</summary>
    /// <returns>The PEM text.</returns>
    public string ExportPem() => PemEncoding.WriteString("PUBLIC KEY", _spki);

    /// <summary>The public half of a key pair this process made or imported; refuses keys outside the policy.</summary>
    internal static OwnerPublicKey FromKey(AsymmetricAlgorithm key, string paramName)
    {
        try
        {
            return Parse(key.ExportSubjectPublicKeyInfo());
        }
        catch (IntegrityException e)
        {
            throw new ArgumentException(e.Message, paramName, e);
        }
    }

    /// <summary>
    /// Reads a DER SubjectPublicKeyInfo that arrived from elsewhere (a manifest, a tombstone, a request). The owner key
    /// policy (<see cref="OwnerKeyPolicy"/>) is checked before anything is imported; bad input is an
    /// <see cref="IntegrityException"/>.
    /// </summary>
    internal static OwnerPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        // The length bound comes before the fingerprint, so an oversized key costs no hashing either.
        OwnerKeyPolicy.CheckLength(spki);
        var fingerprint = Sha256Hash.Compute(spki);
        if (Parsed.TryGetValue(fingerprint, out var known)) return known;
        var parsed = Parse(spki);
        if (Parsed.Count >= CacheLimit) Parsed.Clear();
        Parsed.TryAdd(fingerprint, parsed);
        return parsed;
    }

    private static OwnerPublicKey Parse(ReadOnlySpan<byte> spki)
    {
        var (algorithm, bits) = OwnerKeyPolicy.Check(spki);
        using AsymmetricAlgorithm key = algorithm == OwnerKeyAlgorithm.Rsa ? RSA.Create() : ECDsa.Create();
        byte[] canonical;
        try
        {
            // The import also checks what the DER walk does not: that an EC point lies on the curve.
            int read;
            if (key is RSA rsa) rsa.ImportSubjectPublicKeyInfo(spki, out read);
            else ((ECDsa)key).ImportSubjectPublicKeyInfo(spki, out read);
            canonical = key.ExportSubjectPublicKeyInfo();
            if (read != spki.Length) throw new IntegrityException("The owner public key has trailing bytes.");
        }
        catch (CryptographicException e)
        {
            throw new IntegrityException($"The owner public key is not a valid {Describe(algorithm, bits)} key.", e);
        }

        // The policy admits DER only, which has one encoding per key: the id of a key never depends on who encoded it.
        if (!canonical.AsSpan().SequenceEqual(spki))
            throw new IntegrityException("The owner public key is not in canonical DER form.");
        return new OwnerPublicKey(canonical, algorithm, bits);
    }

    /// <summary>
    /// Checks a signature over <paramref name="data"/>: RSASSA-PSS (SHA-256, salt = hash length) for an RSA key,
    /// ECDSA (SHA-256, IEEE P1363 r ‖ s) for a P-256 key.
    /// </summary>
    internal bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureLength) return false;
        // One imported key per instance, reused: the BCL's keys are not documented as thread-safe, so calls take
        // turns (a check is ~40 µs for RSA-3072; the import it saves costs more than that).
        lock (_verifierLock)
        {
            _verifier ??= Import();
            return _verifier is RSA rsa
                ? rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss)
                : ((ECDsa)_verifier).VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
    }

    /// <summary>The length of every signature this key makes.</summary>
    internal int SignatureLength => Algorithm == OwnerKeyAlgorithm.Rsa ? (KeySizeInBits + 7) / 8 : EcdsaP256SignatureLength;

    private AsymmetricAlgorithm Import()
    {
        if (Algorithm == OwnerKeyAlgorithm.Rsa)
        {
            var rsa = RSA.Create();
            rsa.ImportSubjectPublicKeyInfo(_spki, out _);
            return rsa;
        }

        var ec = ECDsa.Create();
        ec.ImportSubjectPublicKeyInfo(_spki, out _);
        return ec;
    }

    internal static string Describe(OwnerKeyAlgorithm algorithm, int bits) =>
        algorithm == OwnerKeyAlgorithm.Rsa ? $"RSA-{bits}" : "ECDSA P-256";

    /// <summary>True when both are the same public key.</summary>
    /// <param name="other">The other key.</param>
    /// <returns>Whether the encoded keys are identical.</returns>
    public bool Equals(OwnerPublicKey? other) => other is not null && _spki.AsSpan().SequenceEqual(other._spki);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as OwnerPublicKey);

    /// <inheritdoc/>
    public override int GetHashCode() => Id.GetHashCode(StringComparison.Ordinal);

    /// <summary>The key's type and id, e.g. <c>OwnerPublicKey(RSA-3072, 9f86d0…)</c>.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"OwnerPublicKey({Describe(Algorithm, KeySizeInBits)}, {Id})";
}
