using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// Batched ingest with FTS on: 10,000 messages into a store that already holds <see cref="History"/> messages.
/// Baseline: naive raw Microsoft.Data.Sqlite on the same schema (FTS5 triggers included): one prepared INSERT in a
/// loop inside one transaction, default pragmas. Reported per message (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 12, invocationCount: 1)]
public class MessageIngest
{
    private const int Count = 10_000;
    private Message[] _messages = [];
    private string _template = "";
    private string _path = "";

    /// <summary>Messages already in the database before the ingest (a fresh install vs a device with history).</summary>
    [Params(0, 200_000)]
    public int History { get; set; }

    /// <summary>Messages per SaveMessagesAsync call (10,000 = one transaction, like the baseline).</summary>
    [Params(1000, 10_000)]
    public int BatchSize { get; set; }

    /// <summary>Builds the history database once per parameter set (store and naive copies start from it).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _messages = StorageBenchData.MakeRange(History, Count, seed: 42);
        _template = History == 0 ? "" : StorageBenchData.EnsureDatabase(History);
    }

    /// <summary>Each iteration writes into a fresh copy, so every iteration sees the same starting file.</summary>
    [IterationSetup]
    public void FreshCopy()
    {
        var directory = Path.Combine(Path.GetTempPath(), "zentalk-bench");
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, $"ingest-{Guid.NewGuid():N}.db");
        if (_template.Length == 0)
        {
            StorageBenchData.CreateNaiveSchema(_path);
        }
        else
        {
            File.Copy(_template, _path);
            using var connection = new SqliteConnection($"Data Source={_path};Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Removes the iteration's database.</summary>
    [IterationCleanup]
    public void Cleanup() => StorageBenchData.DeleteDatabase(_path);

    /// <summary>The naive peer: one prepared INSERT in a loop in one transaction, default pragmas.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public void NaiveRawSqlite()
    {
        using var connection = StorageBenchData.OpenNaive(_path);
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText =
            """
            INSERT INTO messages (message_id, conversation_id, sender_id, sent_at, received_at, body, content_type, status, direction)
            VALUES ($message_id, $conversation_id, $sender_id, $sent_at, $received_at, $body, $content_type, $status, $direction)
            """;
        var messageId = insert.Parameters.Add("$message_id", SqliteType.Text);
        var conversationId = insert.Parameters.Add("$conversation_id", SqliteType.Text);
        var senderId = insert.Parameters.Add("$sender_id", SqliteType.Text);
        var sentAt = insert.Parameters.Add("$sent_at", SqliteType.Integer);
        var receivedAt = insert.Parameters.Add("$received_at", SqliteType.Integer);
        var body = insert.Parameters.Add("$body", SqliteType.Text);
        var contentType = insert.Parameters.Add("$content_type", SqliteType.Text);
        var status = insert.Parameters.Add("$status", SqliteType.Integer);
        var direction = insert.Parameters.Add("$direction", SqliteType.Integer);
        foreach (var m in _messages)
        {
            messageId.Value = m.MessageId;
            conversationId.Value = m.ConversationId;
            senderId.Value = m.SenderId;
            sentAt.Value = m.SentAt.ToUnixTimeMilliseconds();
            receivedAt.Value = m.ReceivedAt!.Value.ToUnixTimeMilliseconds();
            body.Value = m.Body;
            contentType.Value = m.ContentType;
            status.Value = (int)m.Status;
            direction.Value = (int)m.Direction;
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>The store: SaveMessagesAsync in batches (dedupe, conversations, unread counts, FTS), opening included.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public async Task Store_SaveMessagesAsync()
    {
        var store = await SqliteMessageStore.OpenAsync(_path);
        await using (store)
        {
            for (var i = 0; i < _messages.Length; i += BatchSize)
            {
                await store.SaveMessagesAsync(new ArraySegment<Message>(_messages, i, Math.Min(BatchSize, _messages.Length - i)));
            }
        }
    }
}
