namespace ZenTalk.Storage;

/// <summary>Relay-queue figures, for the whole queue or one recipient.</summary>
/// <param name="Count">Pending envelopes (leased or not, expired ones not yet purged included).</param>
/// <param name="Bytes">Total envelope bytes of the pending envelopes.</param>
/// <param name="OldestEnqueuedAt">Enqueue time of the oldest pending envelope; <see langword="null"/> when none.</param>
/// <param name="DeadLettered">Envelopes that reached the maximum attempts and wait for a purge.</param>
public sealed record RelayQueueStats(long Count, long Bytes, DateTimeOffset? OldestEnqueuedAt, long DeadLettered);
