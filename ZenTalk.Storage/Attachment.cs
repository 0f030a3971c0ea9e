namespace ZenTalk.Storage;

/// <summary>
/// A reference to media stored elsewhere (in the mesh): where it is, how to decrypt it, and what it is.
/// </summary>
/// <remarks>
/// <see cref="ContentKey"/> is stored exactly as given, not encrypted by the store: the store relies on the
/// device's own storage encryption. See docs/security.md, "Message store".
/// </remarks>
public sealed record Attachment
{
    /// <summary>The mesh content id of the encrypted file.</summary>
    public required string Cid { get; init; }

    /// <summary>The symmetric key that decrypts the file (stored as given; see remarks).</summary>
    public required byte[] ContentKey { get; init; }

    /// <summary>The original file name, for display and saving.</summary>
    public required string FileName { get; init; }

    /// <summary>The MIME type of the plaintext file. Default: <c>application/octet-stream</c>.</summary>
    public string MimeType { get; init; } = "application/octet-stream";

    /// <summary>The plaintext size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The SHA-256 of the plaintext file (32 bytes), to verify a download.</summary>
    public required byte[] Sha256 { get; init; }
}
