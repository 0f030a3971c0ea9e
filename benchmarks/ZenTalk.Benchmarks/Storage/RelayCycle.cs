using BenchmarkDotNet.Attributes;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// One relay cycle per operation: enqueue an envelope, lease the due batch, acknowledge. The queue holds
/// <see cref="Backlog"/> envelopes that are leased far into the future, so the due-index has to skip past them.
/// No peer: there is no standard SQLite relay queue to compare against.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class RelayCycle
{
    private static readonly byte[] Envelope = new byte[512];
    private string _path = "";
    private SqliteMessageStore _store = null!;
    private long _next;

    /// <summary>Envelopes already queued (leased, so not due) while the cycle runs.</summary>
    [Params(0, 10_000)]
    public int Backlog { get; set; }

    /// <summary>An empty store plus the backlog.</summary>
    [GlobalSetup]
    public async Task Setup()
    {
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "zentalk-bench"));
        _path = Path.Combine(Path.GetTempPath(), "zentalk-bench", $"relay-{Guid.NewGuid():N}.db");
        var options = new MessageStoreOptions { RelayMaxItemsPerRecipient = 1_000_000, RelayMaxBytesPerRecipient = long.MaxValue };
        _store = await SqliteMessageStore.OpenAsync(_path, options);
        for (var i = 0; i < Backlog; i++)
        {
            await _store.EnqueueRelayAsync($"backlog-{i}", $"peer-{i % 50}", Envelope, TimeSpan.FromDays(7));
        }
        while ((await _store.LeaseRelayAsync(10_000, TimeSpan.FromDays(1))).Count > 0)
        {
        }
    }

    /// <summary>Removes the database.</summary>
    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _store.DisposeAsync();
        StorageBenchData.DeleteDatabase(_path);
    }

    /// <summary>Enqueue, lease up to 16, ack what was leased.</summary>
    [Benchmark]
    public async Task<int> EnqueueLeaseAck()
    {
        await _store.EnqueueRelayAsync($"e-{_next++}", "peer-1", Envelope, TimeSpan.FromHours(1));
        var leased = await _store.LeaseRelayAsync(16, TimeSpan.FromSeconds(30));
        foreach (var item in leased)
        {
            await _store.AckRelayAsync(item.EnvelopeId);
        }
        return leased.Count;
    }
}
