using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;

namespace ZenTalk.Storage.Database;

/// <summary>
/// The schema objects (tables, indexes, triggers, views) a message store file of a given version holds, as the
/// migrations make them, so that a file from elsewhere (a backup) can be compared with it: a trigger or view in a
/// restored file runs with the store's rights on the user's data, so anything extra, missing or changed is refused.
/// </summary>
internal static class ExpectedSchema
{
    /// <summary>
    /// FTS5 writes its shadow tables' SQL itself, and another SQLite release may word it differently; their names and
    /// kinds are compared, not their text. They cannot hold code (triggers and views are objects of their own).
    /// </summary>
    private static readonly string[] Fts5ShadowTables =
        ["messages_fts_config", "messages_fts_content", "messages_fts_data", "messages_fts_docsize", "messages_fts_idx"];

    private static readonly ConcurrentDictionary<int, IReadOnlyList<SchemaObject>> ByVersion = new();

    /// <summary>One row of <c>sqlite_schema</c>, with the SQL's whitespace collapsed (line endings follow the build).</summary>
    internal readonly record struct SchemaObject(string Type, string Name, string Table, string? Sql)
    {
        public override string ToString() => $"{Type} {Name}";
    }

    /// <summary>Describes how <paramref name="connection"/>'s schema differs from version <paramref name="version"/>'s, or null when it does not.</summary>
    public static string? Differences(SqliteConnection connection, int version)
    {
        var expected = ByVersion.GetOrAdd(version, Build);
        var actual = Read(connection);
        var expectedByName = expected.ToDictionary(o => (o.Type, o.Name));
        var problems = new List<string>();
        foreach (var o in actual)
        {
            if (!expectedByName.Remove((o.Type, o.Name), out var e))
                problems.Add("unexpected " + o);
            else if (e.Table != o.Table || (e.Sql != o.Sql && !(o.Type == "table" && Fts5ShadowTables.Contains(o.Name))))
                problems.Add("changed " + o);
        }

        problems.AddRange(expectedByName.Values.Select(o => "missing " + o));
        return problems.Count == 0 ? null : string.Join(", ", problems.Take(5)) + (problems.Count > 5 ? $" and {problems.Count - 5} more" : "");
    }

    private static IReadOnlyList<SchemaObject> Build(int version)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = ":memory:", Pooling = false }.ToString();
        using var connection = StoreConnection.Open(connectionString, new MessageStoreOptions(), readOnly: false);
        Migrations.Apply(connection, Migrations.Steps, version);
        return Read(connection.Connection);
    }

    private static List<SchemaObject> Read(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type, name, tbl_name, sql FROM sqlite_schema";
        using var reader = command.ExecuteReader();
        var objects = new List<SchemaObject>();
        while (reader.Read())
        {
            objects.Add(new SchemaObject(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : CollapseWhitespace(reader.GetString(3))));
        }

        return objects;
    }

    private static string CollapseWhitespace(string sql)
    {
        var builder = new StringBuilder(sql.Length);
        bool space = false;
        foreach (char c in sql)
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space && builder.Length > 0) builder.Append(' ');
            space = false;
            builder.Append(c);
        }

        return builder.ToString();
    }
}
