using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk;

/// <summary>Settings for <see cref="AttachmentService"/>. Every property has a documented default.</summary>
public sealed class AttachmentServiceOptions
{
    /// <summary>
    /// The local user's id, written as <see cref="Storage.Message.SenderId"/> of sent messages.
    /// Default: <see langword="null"/>, which uses the owner key's id (<see cref="MeshStorage.Crypto.OwnerPublicKey.Id"/>).
    /// </summary>
    public string? SenderId { get; set; }

    /// <summary>Expiry, segment size and placement thresholds for uploads. Default: <see langword="null"/> (the mesh's defaults).</summary>
    public StoreOptions? StoreOptions { get; set; }

    /// <summary>The clock for <see cref="Storage.Message.SentAt"/>. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the service logs (uploads, rollbacks). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// How long the rollback of an upload (deleting it after the message could not be saved) may take; it runs even
    /// when the caller's token is cancelled. Default: 30 seconds.
    /// </summary>
    public TimeSpan RollbackTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
