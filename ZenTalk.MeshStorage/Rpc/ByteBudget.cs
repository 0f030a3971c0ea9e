namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// An allowance of bytes held for peers: requests being handled and responses not yet written. Takers wait in arrival
/// order until enough is free, so a large request is not starved by small ones; a single take larger than the whole
/// budget is clamped to it (one maximum frame must always get through). A connection's budget has the server's as its
/// parent: a take gets the connection's share first, then the server's, so one peer that stops reading its answers
/// holds at most its share and the others are still served.
/// </summary>
internal sealed class ByteBudget
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly ByteBudget? _parent;
    private long _available;

    /// <param name="capacity">The bytes it allows; with a parent, at most the parent's.</param>
    /// <param name="parent">A budget every take must also get (and every release gives back to), or null.</param>
    public ByteBudget(long capacity, ByteBudget? parent = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (parent is not null) ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, parent.Capacity);
        Capacity = capacity;
        _available = capacity;
        _parent = parent;
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
        var own = AcquireOwnAsync(bytes, cancellationToken);
        if (_parent is null) return own;
        return own.IsCompletedSuccessfully ? AcquireParentAsync(bytes, cancellationToken) : AcquireBothAsync(own, bytes, cancellationToken);
    }

    private async ValueTask<long> AcquireBothAsync(ValueTask<long> own, long bytes, CancellationToken cancellationToken)
    {
        await own.ConfigureAwait(false);
        return await AcquireParentAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The parent's part of a take whose own part is held: given back if the parent's wait ends without it.</summary>
    private ValueTask<long> AcquireParentAsync(long bytes, CancellationToken cancellationToken)
    {
        var taken = _parent!.AcquireAsync(bytes, cancellationToken);
        return taken.IsCompletedSuccessfully ? taken : AwaitParentAsync(taken, bytes);
    }

    private async ValueTask<long> AwaitParentAsync(ValueTask<long> taken, long bytes)
    {
        try
        {
            return await taken.ConfigureAwait(false);
        }
        catch
        {
            ReleaseOwn(bytes);
            throw;
        }
    }

    private ValueTask<long> AcquireOwnAsync(long bytes, CancellationToken cancellationToken)
    {
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
        _parent?.Release(bytes);
        ReleaseOwn(bytes);
    }

    private void ReleaseOwn(long bytes)
    {
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
