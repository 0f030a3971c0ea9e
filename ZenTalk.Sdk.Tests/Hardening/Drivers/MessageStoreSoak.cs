using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>What a soak did: operations by kind with p50/p99 latency, errors by type, lost writes and leaked SQLITE_BUSY.</summary>
internal sealed class SoakReport
{
    public TimeSpan Duration { get; set; }
    public ConcurrentDictionary<string, ConcurrentBag<double>> Latencies { get; } = new();
    public ConcurrentDictionary<string, int> Errors { get; } = new();
    public long MessagesWritten;
    public long MessagesRead;
    public long RelayEnqueued;
    public long RelayAcked;
    public long LostMessages;
    public long BusyLeaked;
    public long DoubleLeases;
    public long LostEnvelopes;
    public List<string> FirstErrors { get; } = [];

    public long Operations => Latencies.Values.Sum(b => (long)b.Count);
    public long ErrorCount => Errors.Values.Sum();

    public void Record(string kind, double ms) => Latencies.GetOrAdd(kind, _ => []).Add(ms);

    public void Error(Exception ex)
    {
        Errors.AddOrUpdate(ex.GetType().Name, 1, (_, n) => n + 1);
        for (var e = (Exception?)ex; e is not null; e = e.InnerException)
            if (e is SqliteException { SqliteErrorCode: 5 or 6 }) Interlocked.Increment(ref BusyLeaked);
        lock (FirstErrors) if (FirstErrors.Count < 10) FirstErrors.Add(ex.ToString());
    }

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    public override string ToString()
    {
        var lines = new List<string>
        {
            $"soak {Duration.TotalSeconds:0} s: {Operations} operations ({Operations / Math.Max(1, Duration.TotalSeconds):0} ops/s), " +
            $"{MessagesWritten} messages written, {MessagesRead} read, {RelayEnqueued} envelopes enqueued, {RelayAcked} acked; " +
            $"errors {ErrorCount}, lost messages {LostMessages}, lost envelopes {LostEnvelopes}, double leases {DoubleLeases}, SQLITE_BUSY leaked {BusyLeaked}",
        };
        foreach (var (kind, bag) in Latencies.OrderBy(k => k.Key))
            lines.Add($"  {kind,-14} {bag.Count,9} ops  p50 {Percentile(bag, 0.50),7:0.00} ms  p99 {Percentile(bag, 0.99),7:0.00} ms");
        return string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// The message store under concurrent load: writers save batches and enqueue relay envelopes, readers page, look up
/// messages acknowledged moments before (each must be there), count unread and search; leasers lease and ack envelopes
/// (none may be leased twice, none lost). At the end every acknowledged message and envelope is accounted for.
/// </summary>
internal static class MessageStoreSoak
{
    public static async Task<SoakReport> RunAsync(string path, TimeSpan duration, int writers = 8, int readers = 8, int leasers = 2,
        CancellationToken cancellationToken = default)
    {
        var report = new SoakReport();
        await using var store = await SqliteMessageStore.OpenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        var acked = new ConcurrentDictionary<string, byte>();
        var recent = new string?[writers];
        var enqueued = new ConcurrentDictionary<string, byte>();
        var leased = new ConcurrentDictionary<string, byte>();
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        async Task Timed(string kind, Func<Task> op)
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                await op().ConfigureAwait(false);
                report.Record(kind, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                report.Error(ex);
            }
        }

        var tasks = new List<Task>();
        for (int w = 0; w < writers; w++)
        {
            int writer = w;
            tasks.Add(Task.Run(async () =>
            {
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    var batch = Enumerable.Range(0, 10).Select(i => new Message
                    {
                        MessageId = $"w{writer}-{n}-{i}",
                        ConversationId = "c" + (writer % 4),
                        SenderId = "u" + writer,
                        SentAt = start.AddMilliseconds((n * 10) + i),
                        Body = $"soak message {n} {i} from writer {writer} " + new string('z', (n + i) % 120),
                        Direction = MessageDirection.Incoming,
                        Status = MessageStatus.Delivered,
                    }).ToList();
                    await Timed("save batch", async () =>
                    {
                        await store.SaveMessagesAsync(batch, CancellationToken.None).ConfigureAwait(false);
                        foreach (var m in batch) acked[m.MessageId] = 0;
                        Interlocked.Add(ref report.MessagesWritten, batch.Count);
                        Volatile.Write(ref recent[writer], batch[^1].MessageId);
                    }).ConfigureAwait(false);
                    if (n % 3 == 0)
                    {
                        string id = $"e{writer}-{n}";
                        await Timed("relay enqueue", async () =>
                        {
                            await store.EnqueueRelayAsync(id, "r" + (n % 5), new byte[256], TimeSpan.FromHours(1), CancellationToken.None).ConfigureAwait(false);
                            enqueued[id] = 0;
                            Interlocked.Increment(ref report.RelayEnqueued);
                        }).ConfigureAwait(false);
                    }
                }
            }, cancellationToken));
        }
        for (int r = 0; r < readers; r++)
        {
            var random = new Random(100 + r);
            tasks.Add(Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    // Reads often complete synchronously; without a yield eight readers would hold every pool thread
                    // and starve the writers' continuations, measuring the thread pool instead of the store.
                    await Task.Yield();
                    int op = random.Next(10);
                    if (op < 4)
                        await Timed("page", async () =>
                        {
                            var page = await store.GetMessagesAsync("c" + random.Next(4), 50, null, CancellationToken.None).ConfigureAwait(false);
                            Interlocked.Add(ref report.MessagesRead, page.Items.Count);
                        }).ConfigureAwait(false);
                    else if (op < 8)
                    {
                        var id = Volatile.Read(ref recent[random.Next(writers)]);
                        if (id is null) continue;
                        await Timed("get by id", async () =>
                        {
                            if (await store.GetMessageAsync(id, CancellationToken.None).ConfigureAwait(false) is null) Interlocked.Increment(ref report.LostMessages);
                            else Interlocked.Increment(ref report.MessagesRead);
                        }).ConfigureAwait(false);
                    }
                    else if (op < 9)
                        await Timed("count unread", () => store.CountUnreadAsync(null, CancellationToken.None)).ConfigureAwait(false);
                    else
                        await Timed("search", async () =>
                        {
                            var page = await store.SearchMessagesAsync("soak", null, 20, null, CancellationToken.None).ConfigureAwait(false);
                            Interlocked.Add(ref report.MessagesRead, page.Items.Count);
                        }).ConfigureAwait(false);
                }
            }, cancellationToken));
        }
        async Task LeaseOnceAsync()
        {
            await Timed("relay lease+ack", async () =>
            {
                var items = await store.LeaseRelayAsync(16, TimeSpan.FromMinutes(5), CancellationToken.None).ConfigureAwait(false);
                foreach (var item in items)
                {
                    if (!leased.TryAdd(item.EnvelopeId, 0)) Interlocked.Increment(ref report.DoubleLeases);
                    if (await store.AckRelayAsync(item.EnvelopeId, CancellationToken.None).ConfigureAwait(false)) Interlocked.Increment(ref report.RelayAcked);
                }
            }).ConfigureAwait(false);
        }
        for (int l = 0; l < leasers; l++)
        {
            tasks.Add(Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    await LeaseOnceAsync().ConfigureAwait(false);
                    await Task.Delay(2, CancellationToken.None).ConfigureAwait(false);
                }
            }, cancellationToken));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        report.Duration = clock.Elapsed;

        // Drain the relay queue, then account for everything acknowledged.
        for (int i = 0; i < 10_000 && report.RelayAcked < enqueued.Count; i++)
        {
            long before = report.RelayAcked;
            await LeaseOnceAsync().ConfigureAwait(false);
            if (report.RelayAcked == before) break;
        }
        report.LostEnvelopes = enqueued.Keys.Count(k => !leased.ContainsKey(k));
        long missing = 0;
        foreach (var id in acked.Keys)
            if (await store.GetMessageAsync(id, cancellationToken).ConfigureAwait(false) is null) missing++;
        report.LostMessages += missing;
        return report;
    }
}
