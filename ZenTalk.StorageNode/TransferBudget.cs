namespace ZenTalk.StorageNode;

/// <summary>
/// The memory budget for transfers in flight. Each upload or download holds segments being encrypted, coded and sent
/// (or fetched, decoded and written): <see cref="BytesPerTransfer"/> is charged for it, so at most
/// budget / BytesPerTransfer run at once. Past that a request waits up to the queue timeout for a slot, then gets 503
/// with Retry-After; the node's memory then follows the budget, not the number of clients.
/// </summary>
internal sealed class TransferBudget : IDisposable
{
    private readonly SemaphoreSlim _slots;
    private int _waiting;

    public TransferBudget(long budgetBytes, int segmentSize, TimeSpan queueTimeout)
    {
        // A transfer holds a few segments in flight with their 15 shards each, and the frames that carry them: some 8
        // segment sizes. docs/rest-api.md ("Memory") has the measured peaks.
        BytesPerTransfer = 8L * segmentSize;
        Slots = (int)Math.Clamp(budgetBytes / BytesPerTransfer, 1, int.MaxValue);
        BudgetBytes = budgetBytes;
        QueueTimeout = queueTimeout;
        _slots = new SemaphoreSlim(Slots, Slots);
    }

    public long BudgetBytes { get; }
    public long BytesPerTransfer { get; }
    public int Slots { get; }
    public TimeSpan QueueTimeout { get; }
    public int InFlight => Slots - _slots.CurrentCount;
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>
    /// A slot, held until the lease is disposed; null when none freed up within the queue timeout. A free slot is
    /// granted even if <paramref name="cancellationToken"/> is already cancelled; only waiting for one is cancelled.
    /// </summary>
    public async Task<IDisposable?> AcquireAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            // A free slot is taken even when the node is stopping: the request is already in flight, and a stop drains
            // those. Only a request that would have to wait gives up at a stop (cancellationToken).
            if (!_slots.Wait(0) && !await _slots.WaitAsync(QueueTimeout, cancellationToken).ConfigureAwait(false))
            {
                NodeMetrics.TransfersRefused.Add(1);
                return null;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        return new Lease(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Lease(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
        }
    }
}
