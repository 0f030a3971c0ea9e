namespace ZenTalk.Storage;

/// <summary>
/// A file sent with a message: either a reference to media stored in the mesh (<see cref="Cid"/> and
/// <see cref="ContentKey"/>), or, for a small file, the file itself kept in the message store
/// (<see cref="Content"/>). Exactly one of the two is set.
/// </summary>
/// <remarks>
/// <see cref="ContentKey"/> and <see cref="Content"/> are stored exactly as given, not encrypted by the store: the
/// store relies on the device's own storage encryption. See docs/security.md, "Message store". Inline content is
/// loaded with its message, so keep it small (ZenTalk.Sdk's <c>AttachmentService</c> keeps files up to
/// <c>AttachmentServiceOptions.MaxInlineSize</c> inline and sends larger ones to the mesh).
/// </remarks>
public sealed record Attachment
{
    /// <summary>The mesh content id of the encrypted file; <see langword="null"/> for an inline attachment.</summary>
    public string? Cid { get; init; }

    /// <summary>The symmetric key that decrypts the mesh file (stored as given; see remarks); <see langword="null"/> for an inline attachment.</summary>
    public byte[]? ContentKey { get; init; }

    /// <summary>
    /// The file's bytes when it is kept in the message store instead of the mesh; <see langword="null"/> for a mesh
    /// reference. Its length must equal <see cref="Size"/> and its SHA-256 <see cref="Sha256"/>.
    /// </summary>
    public byte[]? Content { get; init; }

    /// <summary>Whether the file's bytes are kept in the message store (<see cref="Content"/>) rather than in the mesh.</summary>
    public bool IsInline => Content is not null;

    /// <summary>The original file name, for display and saving.</summary>
    public required string FileName { get; init; }

    /// <summary>The MIME type of the plaintext file. Default: <c>application/octet-stream</c>.</summary>
    public string MimeType { get; init; } = "application/octet-stream";

    /// <summary>The plaintext size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The SHA-256 of the plaintext file (32 bytes), to verify a download.</summary>
    public required byte[] Sha256 { get; init; }
}
