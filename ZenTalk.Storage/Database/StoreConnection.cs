using Microsoft.Data.Sqlite;

namespace ZenTalk.Storage.Database;

/// <summary>
/// One open SQLite connection with the store's pragmas applied and a cache of prepared commands, so hot paths
/// bind new values into an already-prepared statement instead of parsing SQL again.
/// </summary>
internal sealed class StoreConnection : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RawStatement> _rawStatements = new(StringComparer.Ordinal);
    private bool _inTransaction;

    private StoreConnection(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>Opens a connection and applies the per-connection pragmas.</summary>
    public static StoreConnection Open(string connectionString, MessageStoreOptions options, bool readOnly)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            var store = new StoreConnection(connection);
            // WAL lets readers run while the writer commits; NORMAL is durable across application crashes and
            // only risks the last commits on power loss, the usual trade-off for a client database.
            // Code stored in the file (triggers, views, defaults) may use only functions and virtual tables SQLite
            // marks harmless: a file that came from elsewhere cannot make the store's connections run anything else.
            store.Pragma("PRAGMA trusted_schema = OFF");
            store.Pragma($"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}");
            store.Pragma("PRAGMA journal_mode = WAL");
            store.Pragma("PRAGMA synchronous = NORMAL");
            store.Pragma("PRAGMA foreign_keys = ON");
            store.Pragma($"PRAGMA cache_size = -{options.CacheSizeKiB}");
            store.Pragma("PRAGMA temp_store = MEMORY");
            store.Pragma($"PRAGMA mmap_size = {options.MmapSize}");
            if (readOnly)
            {
                store.Pragma("PRAGMA query_only = ON");
            }
            return store;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Pragma(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Returns the cached command for <paramref name="sql"/>.</summary>
    public SqliteCommand Command(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }
        return command;
    }

    /// <summary>Returns the cached positional statement for <paramref name="sql"/> (hot insert path only).</summary>
    public RawStatement Raw(string sql)
    {
        if (!_rawStatements.TryGetValue(sql, out var statement))
        {
            statement = new RawStatement(Connection, sql);
            _rawStatements.Add(sql, statement);
        }
        return statement;
    }

    /// <summary>Runs a statement once without caching it (schema changes, rare maintenance).</summary>
    public int Execute(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    /// <summary>Runs a scalar query once without caching it.</summary>
    public object? Scalar(string sql)
    {
        using var command = Connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    // Transactions are plain SQL on cached prepared statements rather than SqliteTransaction, which prepares
    // "BEGIN"/"COMMIT" anew each time; on a single save or a page read that is a noticeable share of the call.
    // Commands then run without a Transaction object, which Microsoft.Data.Sqlite accepts because it sees none open.

    public void Begin(bool deferred)
    {
        Raw(deferred ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE").Execute();
        _inTransaction = true;
    }

    public void Commit()
    {
        if (!_inTransaction)
        {
            throw new InvalidOperationException("No transaction is open.");
        }
        _inTransaction = false;
        Raw("COMMIT").Execute();
    }

    public void Rollback()
    {
        if (!_inTransaction)
        {
            return;
        }
        _inTransaction = false;
        // SQLite may already have rolled back by itself (for example after SQLITE_FULL); then there is nothing to undo.
        if (Connection.Handle is { } handle && SQLitePCL.raw.sqlite3_get_autocommit(handle) == 0)
        {
            Raw("ROLLBACK").Execute();
        }
    }

    public void Dispose()
    {
        Rollback();
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
        foreach (var statement in _rawStatements.Values)
        {
            statement.Dispose();
        }
        _rawStatements.Clear();
        Connection.Dispose();
    }
}
