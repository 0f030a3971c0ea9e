namespace ZenTalk.Storage;

/// <summary>Relay-queue figures, for the whole queue or one recipient.</summary>
public sealed record RelayQueueStats
{
    /// <summary>Pending envelopes (leased or not, expired ones not yet purged included).</summary>
    public long Count { get; init; }

    /// <summary>Total envelope bytes of the pending envelopes.</summary>
    public long Bytes { get; init; }

    /// <summary>Enqueue time of the oldest pending envelope; <see langword="null"/> when none.</summary>
    public DateTimeOffset? OldestEnqueuedAt { get; init; }

    /// <summary>Envelopes that reached the maximum attempts and wait for a purge.</summary>
    public long DeadLettered { get; init; }
}
