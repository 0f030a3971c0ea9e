namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// A server-wide allowance of bytes held for peers: requests being handled and responses not yet written. Takers wait
/// in arrival order until enough is free, so a large request is not starved by small ones; a single take larger than
/// the whole budget is clamped to it (one maximum frame must always get through).
/// </summary>
internal sealed class ByteBudget
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    public ByteBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _available = capacity;
    }

    public long Capacity { get; }

    /// <summary>Bytes free now.</summary>
    public long Available
    {
        get
        {
            lock (_lock) return _available;
        }
    }

    /// <summary>Takes <paramref name="bytes"/> (clamped to the capacity); returns what was taken, to give back with <see cref="Release"/>.</summary>
    public ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Clamp(bytes, 0, Capacity);
        LinkedListNode<Waiter> node;
        lock (_lock)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.FromResult(bytes);
            }

            node = _waiters.AddLast(new Waiter(bytes));
        }

        return WaitAsync(node, cancellationToken);
    }

    private async ValueTask<long> WaitAsync(LinkedListNode<Waiter> node, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(() =>
                     {
                         bool removed;
                         lock (_lock)
                         {
                             removed = node.List is not null;
                             if (removed) _waiters.Remove(node);
                         }

                         // Still waiting: it never got the bytes. Already granted: the grant stands and the taker releases it.
                         if (removed) node.Value.Granted.TrySetCanceled(cancellationToken);
                     }).ConfigureAwait(false))
        {
            await node.Value.Granted.Task.ConfigureAwait(false);
        }

        return node.Value.Bytes;
    }

    /// <summary>Gives back bytes taken with <see cref="AcquireAsync"/>.</summary>
    public void Release(long bytes)
    {
        if (bytes <= 0) return;
        List<Waiter>? wake = null;
        lock (_lock)
        {
            _available = Math.Min(Capacity, _available + bytes);
            while (_waiters.First is { } first && _available >= first.Value.Bytes)
            {
                _available -= first.Value.Bytes;
                _waiters.RemoveFirst();
                (wake ??= []).Add(first.Value);
            }
        }

        if (wake is not null)
            foreach (var w in wake) w.Granted.TrySetResult();
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
