using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// Saving one message (its own transaction, conversation update and FTS included). Baseline: naive raw
/// Microsoft.Data.Sqlite, one autocommit INSERT with default pragmas (rollback journal, synchronous=FULL).
/// Every iteration is exactly one save (Monitoring strategy, one invocation), so Median and P95 are the
/// per-operation percentiles, including the occasional save that pays for a WAL checkpoint or an FTS5 merge.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerOperationConfig))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 200, iterationCount: 2000, invocationCount: 1)]
public class MessageSave
{
    private sealed class PerOperationConfig : ManualConfig
    {
        public PerOperationConfig() => AddColumn(StatisticColumn.Median, StatisticColumn.P95);
    }

    private string _storePath = "";
    private string _naivePath = "";
    private SqliteMessageStore _store = null!;
    private SqliteConnection _naive = null!;
    private SqliteCommand _insert = null!;
    private Random _random = new(1);
    private long _next;

    /// <summary>Two empty databases with the same schema.</summary>
    [GlobalSetup]
    public async Task Setup()
    {
        var directory = Path.Combine(Path.GetTempPath(), "zentalk-bench");
        Directory.CreateDirectory(directory);
        _storePath = Path.Combine(directory, $"save-store-{Guid.NewGuid():N}.db");
        _naivePath = Path.Combine(directory, $"save-naive-{Guid.NewGuid():N}.db");
        _store = await SqliteMessageStore.OpenAsync(_storePath);
        StorageBenchData.CreateNaiveSchema(_naivePath);
        _naive = StorageBenchData.OpenNaive(_naivePath);
        _insert = _naive.CreateCommand();
        _insert.CommandText =
            """
            INSERT INTO messages (message_id, conversation_id, sender_id, sent_at, received_at, body, content_type, status, direction)
            VALUES ($message_id, $conversation_id, $sender_id, $sent_at, $received_at, $body, $content_type, $status, $direction)
            """;
        foreach (var name in new[] { "$message_id", "$conversation_id", "$sender_id", "$sent_at", "$received_at", "$body", "$content_type", "$status", "$direction" })
        {
            _insert.Parameters.AddWithValue(name, DBNull.Value);
        }
    }

    /// <summary>Removes both databases.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        _insert.Dispose();
        _naive.Dispose();
        StorageBenchData.DeleteDatabase(_storePath);
        StorageBenchData.DeleteDatabase(_naivePath);
    }

    /// <summary>The naive peer: one INSERT, autocommit, default pragmas.</summary>
    [Benchmark(Baseline = true)]
    public int NaiveRawAutocommitInsert()
    {
        var m = StorageBenchData.Make(_next++, _random);
        var p = _insert.Parameters;
        p[0].Value = m.MessageId;
        p[1].Value = m.ConversationId;
        p[2].Value = m.SenderId;
        p[3].Value = m.SentAt.ToUnixTimeMilliseconds();
        p[4].Value = m.ReceivedAt!.Value.ToUnixTimeMilliseconds();
        p[5].Value = m.Body;
        p[6].Value = m.ContentType;
        p[7].Value = (int)m.Status;
        p[8].Value = (int)m.Direction;
        return _insert.ExecuteNonQuery();
    }

    /// <summary>The store's SaveMessageAsync.</summary>
    [Benchmark]
    public Task<bool> Store_SaveMessageAsync() => _store.SaveMessageAsync(StorageBenchData.Make(_next++, _random));
}
