using System.Collections.Concurrent;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class ConcurrencyTests : StoreTestBase
{
    // Each worker does a minimum amount of work and then keeps going until the window closes, so the test checks
    // correctness under contention, not how fast a loaded machine is.
    private const int MinimumRounds = 20;

    [Test]
    [CancelAfter(120_000)]
    public async Task Eight_writers_and_eight_readers_run_for_seconds_without_errors_or_lost_messages(CancellationToken cancellationToken)
    {
        var store = await OpenAsync(Path.Combine(Directory, "busy.db"), new MessageStoreOptions());
        var saved = new ConcurrentBag<string>();
        var errors = new ConcurrentQueue<Exception>();
        var reads = 0L;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var baseTime = DateTimeOffset.UtcNow;

        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < MinimumRounds || !stop.IsCancellationRequested; i++)
                {
                    if (i % 5 == 0)
                    {
                        var batch = Enumerable.Range(0, 10).Select(j => Msg($"w{w}-{i}-{j}", $"c{(i + j) % 6}", baseTime.AddMilliseconds(i * 10 + j), $"batch {w} {i} {j}")).ToList();
                        await store.SaveMessagesAsync(batch);
                        foreach (var m in batch)
                        {
                            saved.Add(m.MessageId);
                        }
                    }
                    else
                    {
                        var message = Msg($"w{w}-{i}", $"c{i % 6}", baseTime.AddMilliseconds(i), $"single {w} {i}");
                        await store.SaveMessageAsync(message);
                        saved.Add(message.MessageId);
                        await store.EnqueueRelayAsync($"e{w}-{i}", $"r{w}", new byte[16], TimeSpan.FromHours(1));
                    }
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToArray();

        var readers = Enumerable.Range(0, 8).Select(r => Task.Run(async () =>
        {
            try
            {
                for (var round = 0; round < MinimumRounds || !stop.IsCancellationRequested; round++)
                {
                    switch (r % 4)
                    {
                        case 0:
                            await store.GetMessagesAsync($"c{r % 6}", 50);
                            break;
                        case 1:
                            await store.SearchMessagesAsync("batch", limit: 20);
                            break;
                        case 2:
                            await store.ListConversationsAsync();
                            await store.CountUnreadAsync();
                            break;
                        default:
                            await store.GetRelayStatsAsync();
                            await store.GetMessageAsync("w0-1");
                            break;
                    }
                    Interlocked.Increment(ref reads);
                }
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToArray();

        await Task.WhenAll(writers.Concat(readers));

        Assert.That(errors, Is.Empty, () => string.Join("\n---\n", errors));
        Assert.That(saved, Has.Count.GreaterThan(100));
        Assert.That(Interlocked.Read(ref reads), Is.GreaterThan(100));
        var stored = new HashSet<string>();
        var unread = 0;
        for (var c = 0; c < 6; c++)
        {
            foreach (var message in await AllPages(store, $"c{c}", 1000))
            {
                Assert.That(stored.Add(message.MessageId), Is.True, "no message is listed twice");
            }
            unread += (await store.GetConversationAsync($"c{c}", cancellationToken))?.UnreadCount ?? 0;
        }
        Assert.That(stored, Is.EquivalentTo(saved.ToHashSet()));
        Assert.That(unread, Is.EqualTo(saved.Count), "every incoming message was counted exactly once");
    }
}
