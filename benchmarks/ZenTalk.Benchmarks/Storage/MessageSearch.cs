using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// Full-text search, top 50 newest matches, in a 1M-message store. Baseline: naive raw Microsoft.Data.Sqlite on the
/// same schema: <c>messages_fts JOIN messages ... MATCH ... ORDER BY sent_at DESC LIMIT 50</c>.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class MessageSearch
{
    private SqliteMessageStore _store = null!;
    private SqliteConnection _naive = null!;
    private SqliteCommand _search = null!;

    /// <summary>A word in ~40 % of messages, or one in ~0.07 %.</summary>
    [Params("common", "rare")]
    public string Word { get; set; } = "common";

    private string Query => Word == "common" ? StorageBenchData.CommonWord : StorageBenchData.RareWord;

    /// <summary>Opens the cached 1M-message database with the store and with a raw connection.</summary>
    [GlobalSetup]
    public async Task Setup()
    {
        var path = StorageBenchData.EnsureDatabase(1_000_000);
        _store = await SqliteMessageStore.OpenAsync(path);
        _naive = StorageBenchData.OpenNaive(path);
        _search = _naive.CreateCommand();
        _search.CommandText =
            """
            SELECT m.id, m.message_id, m.conversation_id, m.sender_id, m.sent_at, m.body
            FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
            WHERE messages_fts MATCH $q ORDER BY m.sent_at DESC LIMIT 50
            """;
        _search.Parameters.AddWithValue("$q", Query);
    }

    /// <summary>Closes both.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        _search.Dispose();
        _naive.Dispose();
    }

    /// <summary>The naive query: every match is joined and sorted by sent_at.</summary>
    [Benchmark(Baseline = true)]
    public int NaiveRawJoinOrderBySentAt()
    {
        var rows = 0;
        using var reader = _search.ExecuteReader();
        while (reader.Read())
        {
            _ = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetString(5));
            rows++;
        }
        return rows;
    }

    /// <summary>The store: escaped prefix query, FTS rowids walked newest first, stops after 50.</summary>
    [Benchmark]
    public async Task<int> Store_SearchMessagesAsync() => (await _store.SearchMessagesAsync(Query, limit: 50)).Items.Count;
}
