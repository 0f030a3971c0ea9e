using System.Buffers.Text;
using System.Security.Cryptography;

namespace ZenTalk.MeshStorage;

/// <summary>
/// The secret that decrypts one stored file: 32 random bytes (AES-256). Each file gets its own, drawn from the
/// operating system's CSPRNG — never derived from an address, a name or a password. Whoever holds the key and
/// the file's CID (<see cref="Cid"/>) can read the file, so share it only over an end-to-end encrypted channel.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> never prints the key; use <see cref="ExportBase64Url"/> to move it on purpose.
/// </remarks>
public sealed class ContentKey : IEquatable<ContentKey>
{
    /// <summary>The key length in bytes (256 bits).</summary>
    public const int Size = 32;

    private readonly byte[] _key;

    private ContentKey(byte[] key) => _key = key;

    /// <summary>Draws a new random key from the operating system's cryptographic random number generator.</summary>
    /// <returns>A fresh key.</returns>
    public static ContentKey Generate() => new(RandomNumberGenerator.GetBytes(Size));

    /// <summary>Reads a key exported by <see cref="ExportBase64Url"/>.</summary>
    /// <param name="text">43 characters of unpadded base64url (RFC 4648 §5).</param>
    /// <returns>The key.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not base64url of exactly 32 bytes.</exception>
    public static ContentKey ImportBase64Url(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // 32 bytes are exactly 43 unpadded characters; checking first also keeps the decode bounded.
        if (text.Length != 43)
        {
            throw new FormatException("A content key is 43 characters of unpadded base64url.");
        }

        var key = new byte[Size];
        if (Base64Url.DecodeFromChars(text, key, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != text.Length || written != Size
            || !string.Equals(Base64Url.EncodeToString(key), text, StringComparison.Ordinal))
        {
            CryptographicOperations.ZeroMemory(key);
            throw new FormatException("A content key is 43 characters of unpadded base64url.");
        }

        return new ContentKey(key);
    }

    /// <summary>Exports the key as unpadded base64url (43 characters), e.g. to put in a message to the recipient.</summary>
    /// <returns>The key's text form. Treat it as a secret.</returns>
    public string ExportBase64Url() => Base64Url.EncodeToString(_key);

    /// <summary>Creates a key from raw bytes (tests and the pipeline).</summary>
    internal static ContentKey FromBytes(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A content key is {Size} bytes.", nameof(key));
        }

        return new ContentKey(key.ToArray());
    }

    internal ReadOnlySpan<byte> Bytes => _key;

    /// <summary>Compares two keys in constant time.</summary>
    /// <param name="other">The other key.</param>
    /// <returns>True when both hold the same 32 bytes.</returns>
    public bool Equals(ContentKey? other) =>
        other is not null && CryptographicOperations.FixedTimeEquals(_key, other._key);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ContentKey);

    /// <summary>A hash code that reveals nothing about the key (all keys share it).</summary>
    /// <returns>A constant.</returns>
    public override int GetHashCode() => Size;

    /// <summary>A placeholder that never contains key material, safe for logs.</summary>
    /// <returns>The text <c>ContentKey(redacted)</c>.</returns>
    public override string ToString() => "ContentKey(redacted)";
}
