using Microsoft.Data.Sqlite;
using ZenTalk.Storage;
using ZenTalk.Storage.Database;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// Deterministic chat-like data for the storage benchmarks, and the shared 1M-message database (built once with
/// the store's batch path and cached in the temp directory, keyed by schema version and data layout).
/// </summary>
internal static class StorageBenchData
{
    public const int Conversations = 1000;
    public const int VocabularySize = 4096;
    public static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly string[] Syllables =
        ["ka", "lo", "mi", "ne", "tu", "ra", "si", "po", "ve", "da", "gu", "fe", "zo", "bi", "ha", "ju"];

    /// <summary>Word i of a synthetic vocabulary; low indices are the frequent words.</summary>
    public static readonly string[] Vocabulary = Enumerable.Range(0, VocabularySize).Select(i =>
        Syllables[i & 15] + Syllables[(i >> 4) & 15] + Syllables[(i >> 8) & 15]).ToArray();

    /// <summary>A word found in about 40 % of messages (Zipf-like skew towards low indices).</summary>
    public static string CommonWord => Vocabulary[0];

    /// <summary>A word found in about 0.07 % of messages.</summary>
    public static string RareWord => Vocabulary[4000];

    public static string Body(Random random)
    {
        var words = new string[8];
        for (var i = 0; i < words.Length; i++)
        {
            var r = random.NextDouble();
            words[i] = Vocabulary[(int)(VocabularySize * r * r * r)];
        }
        return string.Join(' ', words);
    }

    /// <summary>
    /// Message n of the stream: time-ordered, in runs of 10 consecutive messages per conversation (chats come in
    /// bursts), spread over the conversations, half incoming.
    /// </summary>
    public static Message Make(long n, Random random) => new()
    {
        MessageId = Guid.CreateVersion7(Start.AddSeconds(n)).ToString("N") + n.ToString("x", System.Globalization.CultureInfo.InvariantCulture),
        ConversationId = "conv-" + (n / 10 * 7919 % Conversations).ToString(System.Globalization.CultureInfo.InvariantCulture),
        SenderId = "user-" + (n % 97).ToString(System.Globalization.CultureInfo.InvariantCulture),
        SentAt = Start.AddSeconds(n),
        ReceivedAt = Start.AddSeconds(n + 1),
        Body = Body(random),
        Direction = (n & 1) == 0 ? MessageDirection.Incoming : MessageDirection.Outgoing,
        Status = MessageStatus.Delivered,
    };

    public static Message[] MakeRange(long first, int count, int seed)
    {
        var random = new Random(seed);
        var result = new Message[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = Make(first + i, random);
        }
        return result;
    }

    /// <summary>
    /// The path of a database holding <paramref name="messages"/> messages; built on first use (in batches of
    /// 10,000 through the store) and reused by later runs.
    /// </summary>
    public static string EnsureDatabase(int messages)
    {
        var directory = Path.Combine(Path.GetTempPath(), "zentalk-bench");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"messages-{messages}-schema{Migrations.LatestVersion}-data2.db");
        if (File.Exists(path))
        {
            return path;
        }
        var building = path + ".building";
        foreach (var stale in new[] { building, building + "-wal", building + "-shm" })
        {
            File.Delete(stale);
        }
        var store = SqliteMessageStore.OpenAsync(building).GetAwaiter().GetResult();
        try
        {
            const int batch = 10_000;
            for (var first = 0; first < messages; first += batch)
            {
                store.SaveMessagesAsync(MakeRange(first, Math.Min(batch, messages - first), seed: first)).GetAwaiter().GetResult();
            }
        }
        finally
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        SqliteConnection.ClearAllPools();
        File.Move(building, path);
        return path;
    }

    /// <summary>A raw connection with SQLite's default pragmas, as naive code would open it.</summary>
    public static SqliteConnection OpenNaive(string path)
    {
        var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        return connection;
    }

    /// <summary>Creates an empty database with the store's latest schema, in rollback-journal mode (SQLite's default).</summary>
    public static void CreateNaiveSchema(string path)
    {
        SqliteMessageStore.CreateAtSchemaVersion(path, Migrations.LatestVersion);
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = DELETE";
        command.ExecuteNonQuery();
    }

    public static void DeleteDatabase(string path)
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            File.Delete(file);
        }
    }
}
