using System.Security.Cryptography;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// A node's long-lived identity: an ECDSA P-256 key pair kept in the node's data directory (owner-only file,
/// mode 0600 on Unix) and the <see cref="NodeId"/> derived from it. The same key signs the node's TLS
/// certificate, so a peer that completes a handshake has proven it holds the key behind its id.
/// </summary>
internal sealed class NodeIdentity : IDisposable
{
    /// <summary>File name of the private key (PKCS#8 DER) inside the data directory.</summary>
    public const string KeyFileName = "node.key";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private NodeIdentity(ECDsa key)
    {
        Key = key;
        SubjectPublicKeyInfo = key.ExportSubjectPublicKeyInfo();
        Id = NodeId.FromPublicKey(SubjectPublicKeyInfo);
    }

    /// <summary>The private key (P-256).</summary>
    public ECDsa Key { get; }

    /// <summary>DER SubjectPublicKeyInfo of the public key; its SHA-256 is <see cref="Id"/>.</summary>
    public byte[] SubjectPublicKeyInfo { get; }

    /// <summary>The node id: SHA-256 of <see cref="SubjectPublicKeyInfo"/>.</summary>
    public NodeId Id { get; }

    /// <summary>A fresh identity held only in memory (tests, simulations, throwaway clients).</summary>
    public static NodeIdentity CreateEphemeral() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Wraps an existing P-256 key (the identity takes ownership of it).</summary>
    /// <exception cref="ArgumentException">The key is not on P-256.</exception>
    public static NodeIdentity FromKey(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid?.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            throw new ArgumentException("A node key must be an ECDSA P-256 key.", nameof(key));
        return new NodeIdentity(key);
    }

    /// <summary>
    /// Loads the identity from <paramref name="dataDirectory"/>, or creates and saves a new one when the
    /// directory has none yet. The key file is written atomically (temp file, flush to disk, rename) and is
    /// readable by the owner only.
    /// </summary>
    /// <param name="dataDirectory">The node's data directory (created if missing).</param>
    /// <exception cref="IntegrityException">The key file exists but does not hold a P-256 private key.</exception>
    public static NodeIdentity LoadOrCreate(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        Directory.CreateDirectory(dataDirectory);
        string path = Path.Combine(dataDirectory, KeyFileName);
        if (File.Exists(path))
        {
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
            {
                // A key others can read is no longer private to this node; close the hole rather than refuse to start.
                File.SetUnixFileMode(path, OwnerOnly);
            }
            byte[] der = File.ReadAllBytes(path);
            var key = ECDsa.Create();
            try
            {
                key.ImportPkcs8PrivateKey(der, out int read);
                if (read != der.Length) throw new CryptographicException("Trailing bytes after the key.");
                return FromKey(key);
            }
            catch (Exception ex) when (ex is CryptographicException or ArgumentException)
            {
                key.Dispose();
                throw new IntegrityException(
                    $"The node key file '{path}' is corrupt or not an ECDSA P-256 PKCS#8 key ({ex.Message}). " +
                    "Restore it from a backup, or delete it to start this node with a new identity.", ex);
            }
        }

        var created = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] pkcs8 = created.ExportPkcs8PrivateKey();
        string temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        using (var fs = new FileStream(temp, options))
        {
            fs.Write(pkcs8);
            fs.Flush(flushToDisk: true);
        }
        CryptographicOperations.ZeroMemory(pkcs8);
        File.Move(temp, path, overwrite: false);
        return new NodeIdentity(created);
    }

    /// <inheritdoc/>
    public void Dispose() => Key.Dispose();
}
