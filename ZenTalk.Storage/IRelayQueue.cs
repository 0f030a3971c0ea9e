namespace ZenTalk.Storage;

/// <summary>
/// The relay queue: envelopes a server holds for recipients who are offline, leased for delivery, retried with
/// backoff, dead-lettered after too many failures. A server's concern, so it is not part of <see cref="IMessageStore"/>;
/// a node that relays uses <see cref="SqliteMessageStore"/> (or this interface) directly.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IRelayQueue
{
    /// <summary>Enqueues an envelope for later delivery to a recipient.</summary>
    /// <param name="envelopeId">A unique id; enqueuing the same id again is a no-op.</param>
    /// <param name="recipientId">Who the envelope is for.</param>
    /// <param name="envelope">The envelope bytes (not empty).</param>
    /// <param name="timeToLive">How long to keep trying (positive).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if enqueued; <see langword="false"/> if the id was already present.</returns>
    /// <exception cref="RelayQueueQuotaExceededException">The recipient's item or byte quota would be exceeded.</exception>
    Task<bool> EnqueueRelayAsync(string envelopeId, string recipientId, ReadOnlyMemory<byte> envelope, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="maxItems"/> due envelopes, oldest due first. Until the lease ends they are
    /// invisible to other leasers; if neither acknowledged nor failed by then, they become due again.
    /// </summary>
    /// <param name="maxItems">The most envelopes to return, 1 to 10,000.</param>
    /// <param name="leaseDuration">How long the lease lasts (positive).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>The leased envelopes (possibly none).</returns>
    Task<IReadOnlyList<RelayItem>> LeaseRelayAsync(int maxItems, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Acknowledges delivery: removes the envelope.</summary>
    /// <param name="envelopeId">The envelope id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if no such envelope exists.</returns>
    Task<bool> AckRelayAsync(string envelopeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a failed delivery attempt: the envelope is due again after an exponential backoff with jitter
    /// (<see cref="MessageStoreOptions.RelayBaseRetryDelay"/> doubled per attempt, capped), or dead-lettered
    /// after <see cref="MessageStoreOptions.RelayMaxAttempts"/> attempts.
    /// </summary>
    /// <param name="envelopeId">The envelope id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>What happened to the envelope.</returns>
    Task<RelayFailOutcome> FailRelayAsync(string envelopeId, CancellationToken cancellationToken = default);

    /// <summary>Removes expired envelopes and dead letters.</summary>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>How many envelopes were removed.</returns>
    Task<int> PurgeExpiredRelayAsync(CancellationToken cancellationToken = default);

    /// <summary>Counts the relay queue, for everyone or one recipient.</summary>
    /// <param name="recipientId">The recipient, or <see langword="null"/> for the whole queue.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Count, bytes, oldest enqueue time and dead letters.</returns>
    Task<RelayQueueStats> GetRelayStatsAsync(string? recipientId = null, CancellationToken cancellationToken = default);
}
