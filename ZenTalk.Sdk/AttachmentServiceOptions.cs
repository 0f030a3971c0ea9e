using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk;

/// <summary>Settings for <see cref="AttachmentService"/>. Every property has a documented default.</summary>
public sealed class AttachmentServiceOptions
{
    /// <summary>
    /// The local user's id, written as <see cref="Storage.Message.SenderId"/> of sent messages.
    /// Default: <see langword="null"/>, which uses the owner key's id (<see cref="MeshStorage.OwnerPublicKey.Id"/>).
    /// </summary>
    public string? SenderId { get; set; }

    /// <summary>Expiry, segment size and placement thresholds for uploads. Default: <see langword="null"/> (the mesh's defaults).</summary>
    public StoreOptions? StoreOptions { get; set; }

    /// <summary>The clock for <see cref="Storage.Message.SentAt"/>. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the service logs (uploads, rollbacks). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// The largest file, in bytes, that stays local: it is kept inline in the message store
    /// (<see cref="Storage.Attachment.Content"/>) instead of going to the mesh. Larger files go to the mesh.
    /// 0 sends every file to the mesh. Between 0 and <see cref="MaxInlineSizeLimit"/>. Default: 65,536 (64 KiB).
    /// </summary>
    /// <remarks>
    /// Below the default, the mesh's fixed cost dominates: any file, however small, becomes a signed manifest and
    /// fifteen shards on fifteen nodes (ten data, five parity), and a recipient's download is a manifest lookup and
    /// ten shard fetches; kept inline, it is one row read with its message. SQLite reads blobs up to about 50 KB
    /// faster from inside the database than from separate files at its default 4 KiB page size (sqlite.org,
    /// "Internal Versus External BLOBs"), so thumbnails, voice notes and small documents are cheaper inline.
    /// Above it, inline content would make every page of the conversation heavier to read (an inline attachment is
    /// loaded with its message), grow the message store and its backups, and keep the file on one device only.
    /// </remarks>
    public int MaxInlineSize { get; set; } = DefaultMaxInlineSize;

    /// <summary>The default of <see cref="MaxInlineSize"/>: 65,536 bytes.</summary>
    public const int DefaultMaxInlineSize = 64 * 1024;

    /// <summary>The largest allowed <see cref="MaxInlineSize"/>: 1 MiB (inline content is loaded with its message).</summary>
    public const int MaxInlineSizeLimit = 1024 * 1024;

    /// <summary>
    /// How long the rollback of an upload (deleting it after the message could not be saved) may take; it runs even
    /// when the caller's token is cancelled. Default: 30 seconds.
    /// </summary>
    public TimeSpan RollbackTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
