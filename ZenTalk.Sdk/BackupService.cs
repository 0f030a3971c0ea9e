using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.Storage;

namespace ZenTalk.Sdk;

/// <summary>
/// Backs a message store up to the mesh and restores it on another device: a consistent snapshot of the store
/// (<see cref="IMessageStoreBackup.BackupAsync"/>) is encrypted and stored in the mesh like any file; the CID and key are
/// all that is needed to get it back.
/// </summary>
/// <remarks>Safe to use from many threads at once. The service does not own the mesh.</remarks>
public sealed class BackupService
{
    // A backup's key is its owner's alone: the restore reads as the key's sole holder (RestoreAsync).
    private static readonly RetrieveOptions SoleKeyHolder = new() { SoleKeyHolder = true };

    private readonly IMeshStore _mesh;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    /// <param name="mesh">The mesh backups go to and come from.</param>
    /// <param name="options">The clock and the logger factory; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="mesh"/> is null.</exception>
    public BackupService(IMeshStore mesh, BackupServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        _mesh = mesh;
        _time = options?.TimeProvider ?? TimeProvider.System;
        _logger = (options?.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BackupService>();
    }

    /// <summary>
    /// Takes a consistent snapshot of <paramref name="store"/> (it stays usable meanwhile) and stores it in the mesh.
    /// </summary>
    /// <param name="store">The store to back up.</param>
    /// <param name="owner">The owner key the backup is stored under (only it can delete the backup).</param>
    /// <param name="options">Mesh store options (e.g. an expiry); <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives upload progress; may be null.</param>
    /// <param name="cancellationToken">Cancels the backup; nothing is left in the mesh.</param>
    /// <returns>The receipt: CID, key, size and time. <see cref="BackupReceipt.ToRecoveryKit"/> turns it into text to keep.</returns>
    /// <exception cref="MessageStoreException">The snapshot could not be taken.</exception>
    /// <exception cref="MeshStorageException">The upload failed.</exception>
    public async Task<BackupReceipt> BackupAsync(IMessageStoreBackup store, OwnerKey owner, StoreOptions? options = null,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(owner);
        var createdAt = _time.GetUtcNow();
        // The snapshot goes through a temporary file: the store writes it at its own pace and the mesh reads it once
        // with a known length. It holds every message and attachment key in the clear, so it lives in a directory only
        // the user can enter (0700) and is itself 0600 on Unix; the file disappears when closed and the directory
        // right after, whatever happens.
        var directory = Directory.CreateTempSubdirectory("zentalk-backup-");
        try
        {
            var file = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                BufferSize = 1 << 16,
                Options = FileOptions.Asynchronous | FileOptions.DeleteOnClose,
            };
            if (!OperatingSystem.IsWindows()) file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            var snapshot = new FileStream(Path.Combine(directory.FullName, "backup.snapshot"), file);
            await using (snapshot.ConfigureAwait(false))
            {
                await store.BackupAsync(snapshot, cancellationToken).ConfigureAwait(false);
                snapshot.Position = 0;
                var stored = await _mesh.StoreAsync(snapshot, owner, options, progress, cancellationToken).ConfigureAwait(false);
                _logger.BackedUp(stored.Cid, stored.Size);
                return new BackupReceipt { Cid = stored.Cid, ContentKey = stored.ContentKey, Size = stored.Size, CreatedAt = createdAt };
            }
        }
        finally
        {
            try
            {
                directory.Delete(recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.TemporaryDirectoryLeft(e, directory.FullName);
            }
        }
    }

    /// <summary>
    /// Downloads a backup from the mesh and restores it to <paramref name="targetPath"/>: the download is
    /// authenticated segment by segment, the backup's own checksum and the database's integrity are verified into a
    /// temporary file, which then replaces the target in one atomic rename. On any error the target is untouched.
    /// </summary>
    /// <remarks>The backup's content key is taken to be its owner's alone, as <see cref="BackupAsync"/> made it: the
    /// download is verified by each segment's AES-GCM tag, with the shard hashes checked only for a segment whose tag
    /// fails (<see cref="RetrieveOptions.SoleKeyHolder"/>). Keep the receipt's key to yourself: anyone who has it can
    /// read the backup and, if they also control its holders, alter what a restore gets.</remarks>
    /// <param name="cid">The backup's CID (from the <see cref="BackupReceipt"/>).</param>
    /// <param name="contentKey">The backup's key (from the <see cref="BackupReceipt"/>).</param>
    /// <param name="targetPath">The database file to create or replace; it must not be open in a store.</param>
    /// <param name="cancellationToken">Cancels the restore; the target is then untouched.</param>
    /// <returns>A task that completes when the target holds the restored store; open it with <see cref="SqliteMessageStore.OpenAsync"/>.</returns>
    /// <exception cref="IntegrityException">The key is wrong or the downloaded data fails authentication.</exception>
    /// <exception cref="BackupFormatException">The CID names a file that is not a message store backup.</exception>
    /// <exception cref="ShardsUnavailableException">The backup cannot be found in the mesh.</exception>
    public async Task RestoreAsync(Cid cid, ContentKey contentKey, string targetPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contentKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetPath);
        // A backup's key is its owner's alone (the receipt is never shared): its segments are verified by their tag, and
        // a segment whose tag fails is read again with every shard hash-checked (RetrieveOptions.SoleKeyHolder).
        var download = await _mesh.RetrieveAsync(cid, contentKey, SoleKeyHolder, cancellationToken).ConfigureAwait(false);
        await using (download.ConfigureAwait(false))
        {
            await SqliteMessageStore.RestoreAsync(download, targetPath, cancellationToken).ConfigureAwait(false);
        }
        _logger.Restored(cid, targetPath);
    }
}
