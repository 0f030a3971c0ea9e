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
        var snapshot = Path.Combine(Path.GetTempPath(), $"zentalk-backup-{Guid.NewGuid():N}.db");
        try
        {
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
            _logger.LogInformation("Message store backed up ({Bytes} bytes of database)", new FileInfo(snapshot).Length);
        }
        finally
        {
            DeleteQuietly(snapshot);
            DeleteQuietly(snapshot + "-journal");
        }
    }

    /// <summary>
    /// Restores a backup written by <see cref="BackupAsync"/> to <paramref name="targetPath"/>. The stream is
    /// verified completely (length, SHA-256, SQLite integrity check, schema version) into a temporary file next to
    /// the target, which then replaces the target in one atomic rename. On any error the target is untouched.
    /// </summary>
    /// <param name="source">The backup stream; read to the end of the backup, not closed.</param>
    /// <param name="targetPath">The database file to create or replace. It must not be open in a store.</param>
    /// <param name="cancellationToken">Cancels the restore (the target is then untouched).</param>
    /// <returns>A task that completes when the target holds the restored database.</returns>
    /// <exception cref="BackupFormatException">The stream is truncated, corrupted, or not a message store backup.</exception>
    /// <exception cref="SchemaVersionException">The backup comes from a newer version of this library.</exception>
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
            // A -wal or -shm left by the old database would be replayed onto the new file; they belong to the
            // database being replaced, so they go just before the swap.
            DeleteQuietly(fullPath + "-wal");
            DeleteQuietly(fullPath + "-shm");
            File.Move(temp, fullPath, overwrite: true);
        }
        finally
        {
            DeleteQuietly(temp);
            DeleteQuietly(temp + "-journal");
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
        }
        catch (SqliteException e)
        {
            throw new BackupFormatException($"The backup's payload is not a readable SQLite database ({e.Message}). Nothing was restored.", e);
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary file is harmless and uniquely named.
        }
        catch (UnauthorizedAccessException)
        {
            // Same as above.
        }
    }
}
