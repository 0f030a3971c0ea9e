using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// The public half of an <see cref="OwnerKey"/>: enough to check that a manifest or an operation (delete,
/// republish) was signed by the file's owner, never enough to sign. Signatures are RSASSA-PSS with SHA-256.
/// </summary>
public sealed class OwnerPublicKey : IEquatable<OwnerPublicKey>
{
    /// <summary>How many parsed keys <see cref="FromSubjectPublicKeyInfo"/> keeps (a node sees few owners often).</summary>
    private const int CacheLimit = 1024;

    /// <summary>
    /// Parsed keys by SHA-256 of the bytes they were read from. Parsing an RSA key (import, re-export to canonical
    /// DER) costs ~0.25 ms and a fresh import per verification another ~0.1 ms, against ~0.04 ms for the check
    /// itself; every manifest, tombstone and delete of one owner carries the same key.
    /// </summary>
    private static readonly ConcurrentDictionary<Sha256Hash, OwnerPublicKey> Parsed = new();

    private readonly byte[] _spki;
    private readonly Lock _verifierLock = new();
    private RSA? _verifier; // created on first use, guarded by _verifierLock

    private OwnerPublicKey(byte[] subjectPublicKeyInfo, int keySizeInBits)
    {
        _spki = subjectPublicKeyInfo;
        KeySizeInBits = keySizeInBits;
        Id = Sha256Hash.Compute(_spki).ToString();
    }

    /// <summary>The RSA modulus size in bits.</summary>
    public int KeySizeInBits { get; }

    /// <summary>The key's identifier: lower-case hex SHA-256 of its DER SubjectPublicKeyInfo (64 characters).</summary>
    public string Id { get; }

    internal ReadOnlySpan<byte> SubjectPublicKeyInfo => _spki;

    /// <summary>Reads a public key from PEM (<c>-----BEGIN PUBLIC KEY-----</c>, X.509 SubjectPublicKeyInfo).</summary>
    /// <param name="pem">The PEM text.</param>
    /// <returns>The public key.</returns>
    /// <exception cref="ArgumentException">The text is not an RSA public key PEM, or the key is shorter than 2048 bits.</exception>
    public static OwnerPublicKey ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new ArgumentException("The text is not an RSA public key in PEM (SubjectPublicKeyInfo) form.", nameof(pem), e);
        }

        return FromRsa(rsa, nameof(pem));
    }

    /// <summary>Exports the key as PEM (<c>-----BEGIN PUBLIC KEY-----</c>, X.509 SubjectPublicKeyInfo).</summary>
    /// <returns>The PEM text.</returns>
    public string ExportPem() => PemEncoding.WriteString("PUBLIC KEY", _spki);

    internal static OwnerPublicKey FromRsa(RSA rsa, string paramName)
    {
        if (rsa.KeySize < OwnerKey.MinimumKeySizeInBits)
        {
            throw new ArgumentException(
                $"Owner keys must be at least {OwnerKey.MinimumKeySizeInBits} bits; this one has {rsa.KeySize}.", paramName);
        }

        return new OwnerPublicKey(rsa.ExportSubjectPublicKeyInfo(), rsa.KeySize);
    }

    /// <summary>Reads a DER SubjectPublicKeyInfo, e.g. from a manifest; bad input is an <see cref="IntegrityException"/>.</summary>
    internal static OwnerPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        var fingerprint = Sha256Hash.Compute(spki);
        if (Parsed.TryGetValue(fingerprint, out var known)) return known;
        var parsed = Parse(spki);
        if (Parsed.Count >= CacheLimit) Parsed.Clear();
        Parsed.TryAdd(fingerprint, parsed);
        return parsed;
    }

    private static OwnerPublicKey Parse(ReadOnlySpan<byte> spki)
    {
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length)
            {
                throw new IntegrityException("The owner public key has trailing bytes.");
            }
        }
        catch (CryptographicException e)
        {
            throw new IntegrityException("The owner public key is not a valid RSA SubjectPublicKeyInfo.", e);
        }

        if (rsa.KeySize < OwnerKey.MinimumKeySizeInBits)
        {
            throw new IntegrityException($"The owner public key has {rsa.KeySize} bits; at least {OwnerKey.MinimumKeySizeInBits} are required.");
        }

        // Keep the canonical DER, so the id of a key does not depend on how the sender encoded it.
        return new OwnerPublicKey(rsa.ExportSubjectPublicKeyInfo(), rsa.KeySize);
    }

    /// <summary>Checks an RSASSA-PSS (SHA-256, salt = hash length) signature over <paramref name="data"/>.</summary>
    internal bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != KeySizeInBits / 8) return false;
        // One imported key per instance, reused: RSA instances are not documented as thread-safe, so calls take
        // turns (a check is ~40 µs; the import it saves costs more than that).
        lock (_verifierLock)
        {
            if (_verifier is null)
            {
                var rsa = RSA.Create();
                rsa.ImportSubjectPublicKeyInfo(_spki, out _);
                _verifier = rsa;
            }

            return _verifier.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        }
    }

    /// <summary>True when both are the same public key.</summary>
    /// <param name="other">The other key.</param>
    /// <returns>Whether the encoded keys are identical.</returns>
    public bool Equals(OwnerPublicKey? other) => other is not null && _spki.AsSpan().SequenceEqual(other._spki);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as OwnerPublicKey);

    /// <inheritdoc/>
    public override int GetHashCode() => Id.GetHashCode(StringComparison.Ordinal);

    /// <summary>The key's id and size, e.g. <c>OwnerPublicKey(3072 bits, 9f86d0…)</c>.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"OwnerPublicKey({KeySizeInBits} bits, {Id})";
}
