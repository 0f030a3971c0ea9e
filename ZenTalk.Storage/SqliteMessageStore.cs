using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

/// <summary>
/// <see cref="IMessageStore"/> on a SQLite file: one serialized writer connection, a small pool of reader
/// connections (WAL lets them read while the writer commits), prepared statements reused on hot paths.
/// </summary>
/// <remarks>
/// Open with <see cref="OpenAsync"/> (a file) or <see cref="OpenInMemoryAsync"/> (tests, throw-away data).
/// One store instance per file: two instances on the same file work but contend on SQLite's file lock.
/// </remarks>
public sealed partial class SqliteMessageStore : IMessageStore, IRelayQueue
{
    private const int MaxPageSize = 1000;

    private readonly MessageStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreConnection _writer;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly string? _readConnectionString;
    private readonly SemaphoreSlim _readSlots;
    private readonly ConcurrentBag<StoreConnection> _idleReaders = [];
    private const int PendingIndexLimit = 64;
    private long _sequence;

    // Single saves not yet in the full-text index (messages_fts_pending); -1 when unknown (after open or a rolled
    // back write), which makes the next search, edit or delete index whatever is pending. Written under the write lock.
    private int _pendingIndex = -1;
    private volatile bool _disposed;

    private SqliteMessageStore(StoreConnection writer, string? readConnectionString, MessageStoreOptions options, ILogger logger)
    {
        _writer = writer;
        _readConnectionString = readConnectionString;
        _options = options;
        _time = options.TimeProvider;
        _logger = logger;
        _readSlots = new SemaphoreSlim(options.MaxReadConnections, options.MaxReadConnections);
    }

    /// <summary>The database file, or <see langword="null"/> for an in-memory store.</summary>
    public string? DatabasePath { get; private init; }

    /// <summary>
    /// Opens (creating it if missing) the message store at <paramref name="path"/> and upgrades its schema.
    /// </summary>
    /// <param name="path">The database file. Its directory is created if missing. <c>:memory:</c> opens an in-memory store.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels before the file is opened.</param>
    /// <returns>The open store; dispose it to close the file.</returns>
    /// <exception cref="StoreCorruptedException">The file is not a SQLite database, not a ZenTalk message store, or corrupt.</exception>
    /// <exception cref="SchemaVersionException">The file was written by a newer version of this library.</exception>
    /// <exception cref="MessageStoreException">The file could not be opened (permissions, disk full, ...).</exception>
    public static Task<SqliteMessageStore> OpenAsync(string path, MessageStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new MessageStoreOptions();
        options.Validate();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<SqliteMessageStore>(cancellationToken);
        }
        try
        {
            return Task.FromResult(path == ":memory:" ? OpenMemory(options) : OpenFile(path, options));
        }
        catch (Exception e) when (e is MessageStoreException or IOException or UnauthorizedAccessException)
        {
            return Task.FromException<SqliteMessageStore>(e);
        }
    }

    /// <summary>Opens an empty store that lives in memory only and is gone when disposed.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels before the store is created.</param>
    /// <returns>The open store.</returns>
    public static Task<SqliteMessageStore> OpenInMemoryAsync(MessageStoreOptions? options = null, CancellationToken cancellationToken = default) =>
        OpenAsync(":memory:", options, cancellationToken);

    private static SqliteMessageStore OpenMemory(MessageStoreOptions options)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = ":memory:", Pooling = false }.ToString();
        var writer = StoreConnection.Open(connectionString, options, readOnly: false);
        try
        {
            Migrations.Apply(writer);
            // Reads share the writer connection: a private in-memory database has exactly one connection.
            return new SqliteMessageStore(writer, null, options, CreateLogger(options));
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    private static SqliteMessageStore OpenFile(string path, MessageStoreOptions options)
    {
        var fullPath = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        // Created for the user alone before SQLite sees it; SQLite gives the -wal and -shm the same mode.
        PrivateFiles.CreateEmptyIfMissing(fullPath);
        // Backup snapshots a crash left beside the database (each holds a full copy of it).
        DeleteStaleSnapshots(fullPath);
        var logger = CreateLogger(options);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            // The store pools its own connections (with pragmas applied and statements prepared once).
            Pooling = false,
        };
        var writeConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWrite;
        var readConnectionString = builder.ToString();

        StoreConnection? writer = null;
        try
        {
            writer = StoreConnection.Open(writeConnectionString, options, readOnly: false);
            var from = Migrations.Apply(writer);
            if (from != Migrations.LatestVersion)
            {
                logger.SchemaUpgraded(fullPath, from, Migrations.LatestVersion);
            }
            if (options.VerifyIntegrityOnOpen)
            {
                var result = Convert.ToString(writer.Scalar("PRAGMA quick_check"), CultureInfo.InvariantCulture);
                if (result != "ok")
                {
                    throw new StoreCorruptedException($"The message store '{fullPath}' failed its integrity check ({result}). Restore it from a backup.");
                }
            }
            return new SqliteMessageStore(writer, readConnectionString, options, logger) { DatabasePath = fullPath };
        }
        catch (SqliteException e)
        {
            writer?.Dispose();
            throw Translate(e, $"open the message store '{fullPath}'");
        }
        catch
        {
            writer?.Dispose();
            throw;
        }
    }

    private static ILogger CreateLogger(MessageStoreOptions options) =>
        (ILogger?)options.LoggerFactory?.CreateLogger<SqliteMessageStore>() ?? NullLogger.Instance;

    /// <summary>
    /// Creates a database file at a schema version (steps 1..<paramref name="version"/>) without opening a store:
    /// benchmarks fill it with raw inserts, tests back up a file of every released version.
    /// </summary>
    internal static void CreateAtSchemaVersion(string path, int version)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using var connection = StoreConnection.Open(connectionString, new MessageStoreOptions(), readOnly: false);
        Migrations.Apply(connection, Migrations.Steps, version);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Runs <paramref name="write"/> on the writer inside one IMMEDIATE transaction (or none, for backup).</summary>
    private async Task<T> WriteAsync<T>(Func<StoreConnection, T> write, CancellationToken cancellationToken, bool transaction = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!transaction)
            {
                return write(_writer);
            }
            _writer.Begin(deferred: false);
            try
            {
                var result = write(_writer);
                _writer.Commit();
                return result;
            }
            catch
            {
                _writer.Rollback();
                _pendingIndex = -1;
                throw;
            }
        }
        catch (SqliteException e)
        {
            throw Translate(e, "write to the message store");
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> on a pooled reader inside one read transaction (one snapshot), or with no
    /// transaction for work that manages its own (the backup API).
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<StoreConnection, T> read, CancellationToken cancellationToken, bool transaction = true)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_readConnectionString is null)
        {
            return await WriteAsync(read, cancellationToken, transaction).ConfigureAwait(false);
        }
        await _readSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        StoreConnection? connection = null;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_idleReaders.TryTake(out connection))
            {
                connection = StoreConnection.Open(_readConnectionString, _options, readOnly: true);
            }
            if (!transaction)
            {
                return read(connection);
            }
            connection.Begin(deferred: true);
            try
            {
                var result = read(connection);
                connection.Commit();
                return result;
            }
            catch
            {
                connection.Rollback();
                throw;
            }
        }
        catch (SqliteException e)
        {
            throw Translate(e, "read from the message store");
        }
        finally
        {
            if (connection is not null)
            {
                _idleReaders.Add(connection);
            }
            _readSlots.Release();
        }
    }

    /// <summary>
    /// Leaves a closed file fully indexed, so other tools and backups see a complete index. A failure here loses
    /// nothing: the keys stay in messages_fts_pending and the next open store indexes them.
    /// </summary>
    private void IndexPendingOnClose()
    {
        if (_pendingIndex == 0)
        {
            return;
        }
        try
        {
            _writer.Begin(deferred: false);
            IndexPending(_writer);
            _writer.Commit();
        }
        catch (SqliteException e)
        {
            _writer.Rollback();
            _logger.IndexOnCloseFailed(e);
        }
    }

    private static MessageStoreException Translate(SqliteException e, string action) => e.SqliteErrorCode switch
    {
        // SQLITE_CORRUPT, SQLITE_NOTADB
        11 or 26 => new StoreCorruptedException($"Could not {action}: the file is not a SQLite database or is corrupt ({e.Message}). Restore it from a backup.", e),
        // SQLITE_FULL
        13 => new MessageStoreException($"Could not {action}: the disk is full. Free some space and retry; nothing was written.", e),
        // SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY
        14 or 3 or 8 => new MessageStoreException($"Could not {action}: the file cannot be opened for writing ({e.Message}). Check the path and its permissions.", e),
        _ => new MessageStoreException($"Could not {action}: {e.Message}", e),
    };

    private static void CheckLimit(int limit, string paramName)
    {
        if (limit < 1 || limit > MaxPageSize)
        {
            throw new ArgumentOutOfRangeException(paramName, limit, $"Must be between 1 and {MaxPageSize}.");
        }
    }

    private static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>Waits for running operations, then closes every connection. The file stays as it is.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            for (var i = 0; i < _options.MaxReadConnections; i++)
            {
                await _readSlots.WaitAsync().ConfigureAwait(false);
            }
            while (_idleReaders.TryTake(out var reader))
            {
                reader.Dispose();
            }
            IndexPendingOnClose();
            _writer.Dispose();
            // Let anyone who queued before disposal proceed to its ObjectDisposedException instead of waiting forever.
            _readSlots.Release(_options.MaxReadConnections);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
