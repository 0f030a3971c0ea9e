using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

public class BlockingIoTests
{
    [Test]
    public async Task Work_runs_off_the_thread_pool_and_its_outcome_reaches_the_caller()
    {
        bool onPool = true;
        await BlockingIo.RunAsync(() => onPool = Thread.CurrentThread.IsThreadPoolThread, CancellationToken.None);
        Assert.That(onPool, Is.False);

        var failure = Assert.ThrowsAsync<IOException>(() => BlockingIo.RunAsync(() => throw new IOException("disk full"), CancellationToken.None));
        Assert.That(failure!.Message, Is.EqualTo("disk full"));
    }

    [Test]
    public void Work_whose_caller_already_cancelled_does_not_run()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        bool ran = false;
        Assert.That(async () => await BlockingIo.RunAsync(() => ran = true, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(ran, Is.False);
    }

    [Test]
    public async Task More_blocking_calls_than_threads_all_complete_and_run_side_by_side()
    {
        // One call first, so the burst below arrives while a thread is idle: that thread must not take the whole burst.
        await BlockingIo.RunAsync(() => { }, CancellationToken.None);
        await Task.Delay(100); // it is parked by now
        int running = 0, peak = 0, done = 0;
        var calls = Enumerable.Range(0, BlockingIo.MaxThreads * 3).Select(_ => BlockingIo.RunAsync(() =>
        {
            int now = Interlocked.Increment(ref running);
            int seen;
            while ((seen = Volatile.Read(ref peak)) < now && Interlocked.CompareExchange(ref peak, now, seen) != seen)
            {
            }

            Thread.Sleep(20); // Stands for an fsync: the thread waits, the CPU does not.
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref done);
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(calls);
        Assert.That(done, Is.EqualTo(BlockingIo.MaxThreads * 3));
        Assert.That(peak, Is.GreaterThan(1).And.LessThanOrEqualTo(BlockingIo.MaxThreads), "blocked calls wait side by side, never more than the cap");
    }
}
