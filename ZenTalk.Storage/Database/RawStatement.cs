using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ZenTalk.Storage.Database;

/// <summary>
/// A statement prepared once on a connection's SQLite handle, bound and read by position. Used on the hot paths
/// (message insert, conversation upsert, transaction control, message page/search reads): binding by index with
/// UTF-16 spans and reading columns directly skips <see cref="SqliteCommand"/>'s per-execute parameter-name
/// lookups, UTF-8 conversions and reader allocations, a large share of the time outside SQLite itself.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private const uint PreparePersistent = 1;
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(_db, sql, PreparePersistent, out _statement);
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    public void Bind(int index, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, string? value) => Check(value switch
    {
        null => raw.sqlite3_bind_null(_statement, index),
        // An empty span may carry a null pointer, which SQLite would bind as NULL rather than ''.
        "" => raw.sqlite3_bind_text(_statement, index, string.Empty),
        _ => raw.sqlite3_bind_text16(_statement, index, value.AsSpan()),
    });

    /// <summary>Advances to the next row; <see langword="false"/> at the end. Call <see cref="Reset"/> when done.</summary>
    public bool Step()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }
        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }
        var error = Error(rc);
        raw.sqlite3_reset(_statement);
        throw error;
    }

    /// <summary>Ends the current execution so the statement can run again (and releases its read snapshot).</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

    public long GetInt64(int column) => raw.sqlite3_column_int64(_statement, column);

    public long? GetNullableInt64(int column) => IsNull(column) ? null : GetInt64(column);

    // For a TEXT column, sqlite3_column_blob returns the UTF-8 bytes without a terminator.
    public string GetString(int column) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, column));

    public string? GetNullableString(int column) => IsNull(column) ? null : GetString(column);

    public byte[] GetBytes(int column) => raw.sqlite3_column_blob(_statement, column).ToArray();

    /// <summary>Runs a query and returns the first column of its first row, or <see langword="null"/> when no row.</summary>
    public long? QueryInt64()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc == raw.SQLITE_ROW)
        {
            var value = raw.sqlite3_column_int64(_statement, 0);
            raw.sqlite3_reset(_statement);
            return value;
        }
        if (rc != raw.SQLITE_DONE)
        {
            var error = Error(rc);
            raw.sqlite3_reset(_statement);
            throw error;
        }
        raw.sqlite3_reset(_statement);
        return null;
    }

    /// <summary>Runs the statement to completion and returns the number of rows it changed.</summary>
    public int Execute()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc != raw.SQLITE_DONE)
        {
            var error = Error(rc);
            raw.sqlite3_reset(_statement);
            throw error;
        }
        raw.sqlite3_reset(_statement);
        return raw.sqlite3_changes(_db);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Error(rc);
        }
    }

    private SqliteException Error(int rc) =>
        new(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));

    public void Dispose() => _statement.Dispose();
}
