using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    /// <inheritdoc/>
    public async Task BackupAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The destination stream must be writable.", nameof(destination));
        }
        // The snapshot holds every message and attachment key: it is created for the user alone, next to the database
        // (same protection, same file system) or, for an in-memory store, in a private temporary directory.
        DirectoryInfo? privateDirectory = null;
        string snapshot;
        if (DatabasePath is { } database)
        {
            snapshot = SnapshotPrefix(database) + Guid.NewGuid().ToString("N");
        }
        else
        {
            privateDirectory = PrivateFiles.CreateTemporaryDirectory("zentalk-backup-");
            snapshot = Path.Combine(privateDirectory.FullName, "backup-snapshot.db");
        }
        try
        {
            PrivateFiles.CreateEmptyIfMissing(snapshot);
            // The snapshot is taken on a reader (the writer keeps committing meanwhile: WAL readers see one
            // consistent snapshot and do not block it); an in-memory store snapshots on its only connection.
            await ReadAsync(r =>
            {
                using var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = snapshot, Pooling = false }.ToString());
                target.Open();
                r.Connection.BackupDatabase(target);
                // A single self-contained file: no -wal that the stream would have to carry.
                using var command = target.CreateCommand();
                command.CommandText = "PRAGMA journal_mode = DELETE";
                command.ExecuteNonQuery();
                return 0;
            }, cancellationToken, transaction: false).ConfigureAwait(false);
            await BackupFormat.WriteAsync(snapshot, Migrations.LatestVersion, destination, cancellationToken).ConfigureAwait(false);
            _logger.BackedUp(new FileInfo(snapshot).Length);
        }
        finally
        {
            PrivateFiles.DeleteQuietly(snapshot);
            PrivateFiles.DeleteQuietly(snapshot + "-journal");
            if (privateDirectory is not null) PrivateFiles.DeleteQuietly(privateDirectory);
        }
    }

    /// <summary>
    /// How the backup snapshots of the database at <paramref name="databasePath"/> start: a hidden file beside it.
    /// A snapshot left by a crash is removed when the store next opens (<see cref="DeleteStaleSnapshots"/>).
    /// </summary>
    private static string SnapshotPrefix(string databasePath) =>
        Path.Combine(Path.GetDirectoryName(databasePath)!, $".{Path.GetFileName(databasePath)}.backup-");

    private static void DeleteStaleSnapshots(string databasePath)
    {
        var prefix = SnapshotPrefix(databasePath);
        try
        {
            foreach (var stale in Directory.EnumerateFiles(Path.GetDirectoryName(prefix)!, Path.GetFileName(prefix) + "*"))
            {
                PrivateFiles.DeleteQuietly(stale);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable directory: opening the database there reports the real problem.
        }
    }

    /// <summary>
    /// Restores a backup written by <see cref="BackupAsync"/> to <paramref name="targetPath"/>. The stream is
    /// verified completely (length, SHA-256, SQLite integrity check, schema version, and every table, index, trigger
    /// and view exactly as this library makes them) into a temporary file next to the target, readable by the user
    /// alone, which then replaces the target in one atomic rename. On any error the target is untouched. Temporary
    /// files that an interrupted restore of the same target left behind are removed first.
    /// </summary>
    /// <param name="source">The backup stream; read to the end of the backup, not closed.</param>
    /// <param name="targetPath">The database file to create or replace. It must not be open in a store.</param>
    /// <param name="cancellationToken">Cancels the restore (the target is then untouched).</param>
    /// <returns>A task that completes when the target holds the restored database.</returns>
    /// <exception cref="BackupFormatException">
    /// The stream is truncated, corrupted, or not a message store backup, or its database holds schema objects
    /// (triggers, views, tables, indexes) other than the store's own.
    /// </exception>
    /// <exception cref="SchemaVersionException">The backup comes from a newer version of this library.</exception>
    /// <exception cref="MessageStoreException">
    /// The target is open in a store (in this process or another); nothing was read or replaced. Dispose the store first.
    /// </exception>
    public static async Task RestoreAsync(Stream source, string targetPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetPath);
        if (!source.CanRead)
        {
            throw new ArgumentException("The source stream must be readable.", nameof(source));
        }
        var fullPath = Path.GetFullPath(targetPath);
        var directory = Path.GetDirectoryName(fullPath) ?? throw new ArgumentException("The target path has no directory.", nameof(targetPath));
        Directory.CreateDirectory(directory);
        // Refused before a byte is read: replacing the file under an open store would leave that store writing to a
        // deleted file, and its -wal would be deleted under it.
        EnsureNotOpen(fullPath);
        // A restore killed mid-copy (crash, SIGKILL, power loss) leaves its temporary file, as large as the database;
        // nothing else would ever remove it. The target must not be in use during a restore, so these are stale.
        foreach (var stale in Directory.EnumerateFiles(directory, $".{Path.GetFileName(fullPath)}.restore-*"))
        {
            PrivateFiles.DeleteQuietly(stale);
        }
        // Same directory as the target, so the final rename stays on one file system and is atomic.
        var temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.restore-{Guid.NewGuid():N}");
        try
        {
            var schemaVersion = await BackupFormat.ReadAsync(source, temp, cancellationToken).ConfigureAwait(false);
            if (schemaVersion > Migrations.LatestVersion)
            {
                throw new SchemaVersionException(schemaVersion, Migrations.LatestVersion);
            }
            VerifyRestoredFile(temp);
            cancellationToken.ThrowIfCancellationRequested();
            // Checked again: the verification took time, and a store may have opened the target meanwhile.
            EnsureNotOpen(fullPath);
            // A -wal or -shm left by the old database would be replayed onto the new file; they belong to the
            // database being replaced (which nobody has open, just checked), so they go just before the swap.
            PrivateFiles.DeleteQuietly(fullPath + "-wal");
            PrivateFiles.DeleteQuietly(fullPath + "-shm");
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            PrivateFiles.DeleteQuietly(temp);
            PrivateFiles.DeleteQuietly(temp + "-journal");
        }
    }

    private static void VerifyRestoredFile(string path)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA trusted_schema = OFF";
            command.ExecuteNonQuery();
            command.CommandText = "PRAGMA integrity_check";
            var result = Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (result != "ok")
            {
                throw new BackupFormatException($"The backup's database failed its integrity check ({result}). Nothing was restored.");
            }
            command.CommandText = "PRAGMA application_id";
            if (Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture) != Migrations.ApplicationId)
            {
                throw new BackupFormatException("The backup's database is not a ZenTalk message store. Nothing was restored.");
            }
            command.CommandText = "PRAGMA user_version";
            var version = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (version > Migrations.LatestVersion)
            {
                throw new SchemaVersionException(version, Migrations.LatestVersion);
            }
            // Every table, index, trigger and view exactly as the migrations make them: an extra trigger or view
            // would run with the store's rights on the user's data once the file is opened.
            var differences = version < 1 ? "no schema version" : ExpectedSchema.Differences(connection, version);
            if (differences is not null)
            {
                throw new BackupFormatException($"The backup's database schema is not the message store's own for version {version} ({differences}). Nothing was restored.");
            }
        }
        catch (SqliteException e)
        {
            throw new BackupFormatException($"The backup's payload is not a readable SQLite database ({e.Message}). Nothing was restored.", e);
        }
    }

    /// <summary>
    /// Refuses to go on while any connection (a store in this process or another) has the database at
    /// <paramref name="fullPath"/> open. A store keeps its file in WAL mode, where every open connection holds a shared
    /// lock on the file for as long as it is open, so an exclusive lock is granted only when nobody has it open.
    /// </summary>
    /// <exception cref="MessageStoreException">The database is open.</exception>
    private static void EnsureNotOpen(string fullPath)
    {
        if (!File.Exists(fullPath))
        {
            return;
        }
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadWrite,
                Pooling = false,
            }.ToString());
            connection.Open();
            // One statement per command: Microsoft.Data.Sqlite retries a busy statement until the command timeout
            // (one second here, the least it takes), and in a batch it would not report the last failure.
            foreach (var sql in (string[])["PRAGMA trusted_schema = OFF", "PRAGMA locking_mode = EXCLUSIVE", "BEGIN EXCLUSIVE", "ROLLBACK"])
            {
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.CommandTimeout = 1;
                command.ExecuteNonQuery();
            }
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked)
        {
            throw new MessageStoreException(
                $"The message store '{fullPath}' is open (in this process or another); dispose it before restoring over it. Nothing was restored.", e);
        }
        catch (SqliteException)
        {
            // Not a database SQLite can use (damaged, foreign): no store has it open, and it is what the restore replaces.
        }
    }

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
}
