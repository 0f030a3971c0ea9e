using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// One page of 50 messages of one conversation, newest first, in a 1M-message store (1,000 conversations).
/// Baseline: raw Microsoft.Data.Sqlite on the same file with default pragmas, running the equivalent keyset query
/// and reading the same columns. Also shown: the naive <c>ORDER BY sent_at DESC</c> query a hand-written client
/// tends to use.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class MessagePage
{
    private const string Conversation = "conv-421";
    private SqliteMessageStore _store = null!;
    private SqliteConnection _naive = null!;
    private SqliteCommand _keyset = null!;
    private SqliteCommand _bySentAt = null!;
    private string? _deepCursor;

    /// <summary>Newest page, or a page in the middle of the conversation's history (via a cursor).</summary>
    [Params(false, true)]
    public bool Deep { get; set; }

    /// <summary>Opens the cached 1M-message database with the store and with a raw connection.</summary>
    [GlobalSetup]
    public async Task Setup()
    {
        var path = StorageBenchData.EnsureDatabase(1_000_000);
        _store = await SqliteMessageStore.OpenAsync(path);
        _naive = StorageBenchData.OpenNaive(path);
        const string columns = "id, message_id, conversation_id, sender_id, sent_at, received_at, body, content_type, status, direction, reply_to, edited_at, deleted_at";
        _keyset = _naive.CreateCommand();
        _keyset.CommandText = $"SELECT {columns} FROM messages WHERE conversation_id = $c AND id < $before ORDER BY id DESC LIMIT 50";
        _keyset.Parameters.AddWithValue("$c", Conversation);
        _keyset.Parameters.AddWithValue("$before", long.MaxValue);
        _bySentAt = _naive.CreateCommand();
        _bySentAt.CommandText = $"SELECT {columns} FROM messages WHERE conversation_id = $c AND sent_at < $before ORDER BY sent_at DESC LIMIT 50";
        _bySentAt.Parameters.AddWithValue("$c", Conversation);
        _bySentAt.Parameters.AddWithValue("$before", long.MaxValue);
        if (Deep)
        {
            string? cursor = null;
            for (var i = 0; i < 10; i++)
            {
                cursor = (await _store.GetMessagesAsync(Conversation, 50, cursor)).NextCursor;
            }
            _deepCursor = cursor;
            var middle = (await _store.GetMessagesAsync(Conversation, 1, cursor)).Items[0];
            using var key = _naive.CreateCommand();
            key.CommandText = "SELECT id FROM messages WHERE message_id = $m";
            key.Parameters.AddWithValue("$m", middle.MessageId);
            _keyset.Parameters["$before"].Value = (long)key.ExecuteScalar()! + 1;
            _bySentAt.Parameters["$before"].Value = middle.SentAt.ToUnixTimeMilliseconds() + 1;
        }
    }

    /// <summary>Closes both.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        _keyset.Dispose();
        _bySentAt.Dispose();
        _naive.Dispose();
    }

    private static int Drain(SqliteCommand command)
    {
        var rows = 0;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            _ = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                reader.IsDBNull(5) ? 0 : reader.GetInt64(5), reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetInt32(9));
            rows++;
        }
        return rows;
    }

    /// <summary>Raw keyset query on the same index.</summary>
    [Benchmark(Baseline = true)]
    public int NaiveRawKeyset() => Drain(_keyset);

    /// <summary>Raw query ordering by the sent_at column (no index serves it: it sorts the whole conversation).</summary>
    [Benchmark]
    public int NaiveRawOrderBySentAt() => Drain(_bySentAt);

    /// <summary>The store's GetMessagesAsync (pooled reader, read transaction, Message objects).</summary>
    [Benchmark]
    public async Task<int> Store_GetMessagesAsync() => (await _store.GetMessagesAsync(Conversation, 50, _deepCursor)).Items.Count;
}
