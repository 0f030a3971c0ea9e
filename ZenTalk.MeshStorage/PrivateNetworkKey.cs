using System.Security.Cryptography;
using System.Text;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage;

/// <summary>
/// The pre-shared key of a private network: nodes given one (<see cref="MeshNodeOptions.PrivateNetworkKey"/>) connect
/// only to nodes that prove they hold the same key, and refuse every other peer in the handshake, before it can make
/// any request (docs/security.md, "Private network mode"). Make one with <see cref="Generate"/>, keep it with
/// <see cref="Save"/> and give the file to every node of the network.
/// </summary>
/// <remarks>
/// The key file is two lines of text: <c>/zentalk/private-network-key/v1</c>, then the 32-byte key as 64 hexadecimal
/// digits. Anyone who reads it can join the network: keep it like a node key (mode 0600, never in a repository).
/// </remarks>
public sealed class PrivateNetworkKey
{
    /// <summary>The first line of a key file: what the file is and the version of its format.</summary>
    public const string FileHeader = "/zentalk/private-network-key/v1";

    private const int MaxFileBytes = 1024;
    private readonly byte[] _key;

    private PrivateNetworkKey(byte[] key)
    {
        _key = key;
        Id = PrivateNetwork.IdOf(key);
    }

    /// <summary>
    /// The network's public name: 16 hexadecimal digits derived from the key (a one-way function of it), the same on
    /// every member. Logs and refusals name the network by it; it reveals nothing of the key.
    /// </summary>
    public string Id { get; }

    internal ReadOnlySpan<byte> Secret => _key;

    /// <summary>Makes a new network key from the operating system's random number generator.</summary>
    /// <returns>The key.</returns>
    public static PrivateNetworkKey Generate() => new(RandomNumberGenerator.GetBytes(PrivateNetwork.KeySize));

    /// <summary>Reads a key file written by <see cref="Save"/> (or by hand in its format).</summary>
    /// <param name="path">The key file.</param>
    /// <returns>The key.</returns>
    /// <exception cref="MeshStorageException">The file is not a private network key file, or its key is unusable.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static PrivateNetworkKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        using (var file = File.OpenRead(path))
        {
            if (file.Length > MaxFileBytes)
                throw Refused(path, $"it is {file.Length} bytes; a key file is two short lines");
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }

        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Refused(path, "it is not text");
        }

        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n').Split('\n');
        if (lines[0] != FileHeader)
            throw Refused(path, $"its first line is not '{FileHeader}'");
        if (lines.Length != 2)
            throw Refused(path, "it must hold exactly two lines: the header and the key");
        var hex = lines[1].Trim();
        if (hex.Length != 2 * PrivateNetwork.KeySize || !hex.All(char.IsAsciiHexDigit))
            throw Refused(path, $"its second line must be the {PrivateNetwork.KeySize}-byte key as {2 * PrivateNetwork.KeySize} hexadecimal digits");
        var key = Convert.FromHexString(hex);
        if (key.AsSpan().IndexOfAnyExcept(key[0]) < 0)
            throw Refused(path, "its key is one byte repeated, not a random key (make one with PrivateNetworkKey.Generate)");
        return new PrivateNetworkKey(key);
    }

    /// <summary>Writes the key to a new file readable by its owner only (mode 0600 on Unix).</summary>
    /// <param name="path">Where to write; the file must not exist yet.</param>
    /// <exception cref="IOException">The file exists or cannot be written.</exception>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var file = new FileStream(path, options);
        file.Write(Encoding.ASCII.GetBytes($"{FileHeader}\n{Convert.ToHexStringLower(_key)}\n"));
        file.Flush(flushToDisk: true);
    }

    /// <summary>The network's <see cref="Id"/>, never the key.</summary>
    /// <returns>"private network " and the id.</returns>
    public override string ToString() => $"private network {Id}";

    private static MeshStorageException Refused(string path, string why) =>
        new($"'{path}' is not a usable private network key file: {why}.");
}
