namespace ZenTalk.Storage;

/// <summary>
/// Consistent snapshots of a whole message store, while it stays in use.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IMessageStoreBackup
{
    /// <summary>
    /// Writes a consistent snapshot of the whole store to <paramref name="destination"/> while the store stays
    /// usable. The stream has a versioned header and a SHA-256 trailer; restore it with
    /// <see cref="SqliteMessageStore.RestoreAsync"/>.
    /// </summary>
    /// <param name="destination">A writable stream; it is not closed.</param>
    /// <param name="cancellationToken">Cancels the backup.</param>
    /// <returns>A task that completes when the snapshot is written.</returns>
    Task BackupAsync(Stream destination, CancellationToken cancellationToken = default);
}
