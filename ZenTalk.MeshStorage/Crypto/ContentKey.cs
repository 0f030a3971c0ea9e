using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace ZenTalk.MeshStorage;

/// <summary>
/// The secret that decrypts one stored file: 32 random bytes (AES-256). Each file gets its own, drawn from the
/// operating system's CSPRNG — never derived from an address, a name or a password. Whoever holds the key and
/// the file's CID (<see cref="Cid"/>) can read the file, so share it only over an end-to-end encrypted channel.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ToString"/> never prints the key, so a key cannot leak into a log by accident. To save or send one, export
/// it on purpose: <see cref="ExportBase64Url"/> gives 43 characters of text, and <see cref="ImportBase64Url"/> reads
/// them back. Keep that text together with the file's CID (<see cref="Cid.ToString"/>, read back with
/// <see cref="Cid.Parse(string)"/>), where only the file's readers can see it: in the end-to-end encrypted message that
/// shares the file, or in a store that is itself encrypted.
/// </para>
/// <code>
/// string saved = stored.ContentKey.ExportBase64Url();   // secret: store it like a password
/// string cid = stored.Cid.ToString();                   // public: an address, not a secret
/// // later
/// var key = ContentKey.ImportBase64Url(saved);
/// await using var content = await mesh.RetrieveAsync(Cid.Parse(cid), key);
/// </code>
/// <para>
/// Naming across the package: identifiers that are not secret (<see cref="Cid"/>, <see cref="NodeId"/>) have a text
/// form through <c>ToString</c>, <c>Parse</c> and <c>TryParse</c>; secrets (<see cref="ContentKey"/>,
/// <see cref="OwnerKey"/>, <see cref="PrivateNetworkKey"/>) redact <c>ToString</c> and move only through explicit
/// <c>Export…</c>/<c>Import…</c> (or <c>Save</c>/<c>Load</c> for a key file); new keys come from <c>Generate</c>.
/// </para>
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
        return TryImportBase64Url(text, out var key)
            ? key
            : throw new FormatException("A content key is 43 characters of unpadded base64url.");
    }

    /// <summary>Tries to read a key exported by <see cref="ExportBase64Url"/>.</summary>
    /// <param name="text">43 characters of unpadded base64url (RFC 4648 §5).</param>
    /// <param name="key">The key when the text is valid.</param>
    /// <returns>Whether the text was a valid key.</returns>
    public static bool TryImportBase64Url(string? text, [NotNullWhen(true)] out ContentKey? key)
    {
        key = null;
        // 32 bytes are exactly 43 unpadded characters; checking first also keeps the decode bounded.
        if (text is null || text.Length != 43)
        {
            return false;
        }

        var bytes = new byte[Size];
        if (Base64Url.DecodeFromChars(text, bytes, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != text.Length || written != Size
            || !string.Equals(Base64Url.EncodeToString(bytes), text, StringComparison.Ordinal))
        {
            CryptographicOperations.ZeroMemory(bytes);
            return false;
        }

        key = new ContentKey(bytes);
        return true;
    }

    /// <summary>
    /// Exports the key as unpadded base64url (43 characters): the way to save it (beside the CID) or to put it in an
    /// end-to-end encrypted message to the recipient. <see cref="ImportBase64Url"/> reads it back.
    /// </summary>
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
