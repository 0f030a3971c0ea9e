using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using ZenTalk.MeshStorage;

namespace ZenTalk.StorageNode;

/// <summary>
/// The node's secrets, each a file readable by its user only (mode 0600): the owner key (PKCS#8 PEM) that signs what
/// the node stores, and the API token that the mutating REST routes ask for. Created on first use; never replaced.
/// </summary>
internal sealed class NodeKeys : IDisposable
{
    private NodeKeys(OwnerKey owner, byte[] token)
    {
        Owner = owner;
        Token = token;
    }

    public OwnerKey Owner { get; }

    /// <summary>The API token's bytes as sent (the ASCII of its base64url text).</summary>
    public byte[] Token { get; }

    /// <summary>Checks that the data directory can be used: created when missing, and writable.</summary>
    /// <exception cref="StartupException">It is a file, or cannot be created or written (exit code 3).</exception>
    public static void PrepareDataDirectory(string directory)
    {
        if (File.Exists(directory))
            throw new StartupException(ExitCodes.DataDirectory, $"the data directory {directory} is a file; give --data a directory (it is created when missing).");
        try
        {
            Directory.CreateDirectory(directory);
            var probe = Path.Combine(directory, $".write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.DataDirectory, $"the data directory {directory} cannot be written ({e.Message}); give --data a directory this user owns.", e);
        }
    }

    /// <exception cref="StartupException">A key file exists but cannot be read or parsed (exit code 6).</exception>
    public static NodeKeys LoadOrCreate(NodeSettings settings, Action<string>? created = null)
    {
        OwnerKey owner;
        try
        {
            if (File.Exists(settings.OwnerKeyFile))
            {
                owner = OwnerKey.ImportPem(File.ReadAllText(settings.OwnerKeyFile));
            }
            else
            {
                owner = OwnerKey.Generate();
                WriteSecret(settings.OwnerKeyFile, owner.ExportPrivateKeyPem());
                created?.Invoke(settings.OwnerKeyFile);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException or FormatException)
        {
            throw new StartupException(ExitCodes.Keys, $"the owner key {settings.OwnerKeyFile} cannot be used ({e.Message}); it must be an unencrypted PKCS#8 RSA PEM readable by this user.", e);
        }

        try
        {
            if (!File.Exists(settings.TokenFile))
            {
                WriteSecret(settings.TokenFile, Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)) + "\n");
                created?.Invoke(settings.TokenFile);
            }
            var token = File.ReadAllText(settings.TokenFile).Trim();
            if (token.Length < 16 || !token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new FormatException("a token is at least 16 base64url characters");
            return new NodeKeys(owner, Encoding.ASCII.GetBytes(token));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            owner.Dispose();
            throw new StartupException(ExitCodes.Keys, $"the API token {settings.TokenFile} cannot be used ({e.Message}); delete it and the node makes a new one.", e);
        }
    }

    /// <summary>Creates the file with mode 0600 from the start (never world-readable, even for a moment); fails if it exists.</summary>
    public static void WriteSecret(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(Encoding.UTF8.GetBytes(text));
        file.Flush(flushToDisk: true);
    }

    /// <summary>Whether <paramref name="presented"/> is the token, compared in constant time.</summary>
    public bool IsToken(ReadOnlySpan<byte> presented) => CryptographicOperations.FixedTimeEquals(presented, Token);

    public void Dispose() => Owner.Dispose();
}
