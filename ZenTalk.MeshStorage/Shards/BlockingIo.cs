namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// Runs the blocking half of durable writes (create, write, fsync, rename, directory fsync) on dedicated threads,
/// not on the thread pool. An fsync parks its thread for the device's flush latency while using no CPU; on the
/// pool, a burst of shard puts (15 per segment, or one per holder when several nodes share a process) would hold
/// every worker — on a 2-core machine, two — and queue the rest behind each other's flushes, along with the
/// network and TLS work that has nothing to do with the disk. Here they wait in the kernel side by side, where the
/// file system can commit them together. Threads are started on demand up to <see cref="MaxThreads"/> and then
/// kept (idle ones cost only their stacks).
/// </summary>
internal static class BlockingIo
{
    /// <summary>Enough for a full segment's puts (k + m = 15) to flush at once in a one-process mesh.</summary>
    public const int MaxThreads = 16;

    // A plain monitor, not BlockingCollection/SemaphoreSlim: those spin (sched_yield) before they sleep, and a
    // dozen idle I/O threads spinning on two cores took a fifth of the CPU of a small store in profiles.
    private static readonly object Gate = new();
    private static readonly Queue<WorkItem> Pending = new();
    private static int s_threads; // guarded by Gate
    private static int s_idle;    // guarded by Gate

    /// <summary>Runs <paramref name="work"/> on a blocking-I/O thread; the task ends with its outcome.</summary>
    public static Task RunAsync(Action work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        var item = new WorkItem(work, cancellationToken);
        bool start = false;
        lock (Gate)
        {
            Pending.Enqueue(item);
            if (s_idle > 0)
            {
                // The idle thread is claimed here, not when it wakes: otherwise a burst that arrives while one thread
                // is idle pulses that one thread over and over (pulses without a waiter are lost) and never starts
                // another, and the whole burst runs one call at a time.
                s_idle--;
                Monitor.Pulse(Gate);
            }
            else if (s_threads < MaxThreads)
            {
                s_threads++;
                start = true;
            }
        }

        if (start) new Thread(Run) { IsBackground = true, Name = "ZenTalk blocking I/O" }.Start();
        return item.Completion.Task;
    }

    private static void Run()
    {
        while (true)
        {
            WorkItem item;
            lock (Gate)
            {
                while (Pending.Count == 0)
                {
                    s_idle++;
                    Monitor.Wait(Gate); // returns only when pulsed; the pulser took this thread off s_idle
                }

                item = Pending.Dequeue();
            }

            item.Execute();
        }
    }

    private sealed class WorkItem(Action work, CancellationToken cancellationToken)
    {
        // Continuations must not run on this thread: they would hold it with unrelated work.
        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Execute()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Completion.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                work();
                Completion.TrySetResult();
            }
#pragma warning disable CA1031 // Every failure belongs to the caller awaiting the task, not to this thread.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Completion.TrySetException(e);
            }
        }
    }
}
