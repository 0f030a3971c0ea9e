using System.Globalization;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    private const int MaxLeaseBatch = 10_000;

    /// <inheritdoc/>
    public Task<bool> EnqueueRelayAsync(string envelopeId, string recipientId, ReadOnlyMemory<byte> envelope, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(envelopeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(recipientId);
        if (envelope.IsEmpty)
        {
            throw new ArgumentException("The envelope must not be empty.", nameof(envelope));
        }
        if (timeToLive <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeToLive), timeToLive, "Must be positive.");
        }
        var bytes = envelope.ToArray();
        return WriteAsync(w =>
        {
            // Duplicates are checked before the quota, so re-enqueuing a known envelope never fails.
            if (w.Command("SELECT 1 FROM relay_queue WHERE envelope_id = @envelope_id").Bind("@envelope_id", envelopeId).ExecuteScalar() is not null)
            {
                return false;
            }
            long count, total;
            using (var reader = w.Command("SELECT count(*), coalesce(sum(size), 0) FROM relay_queue WHERE recipient_id = @recipient_id AND state = 0")
                .Bind("@recipient_id", recipientId).ExecuteReader())
            {
                reader.Read();
                count = reader.GetInt64(0);
                total = reader.GetInt64(1);
            }
            if (count + 1 > _options.RelayMaxItemsPerRecipient)
            {
                throw new RelayQueueQuotaExceededException(recipientId, string.Create(CultureInfo.InvariantCulture,
                    $"The relay queue for '{recipientId}' already holds {count} envelopes (limit {_options.RelayMaxItemsPerRecipient}). Deliver, purge or wait for expiry before enqueuing more."));
            }
            if (total + bytes.Length > _options.RelayMaxBytesPerRecipient)
            {
                throw new RelayQueueQuotaExceededException(recipientId, string.Create(CultureInfo.InvariantCulture,
                    $"The relay queue for '{recipientId}' holds {total} bytes; {bytes.Length} more would exceed the limit of {_options.RelayMaxBytesPerRecipient}. Deliver, purge or wait for expiry before enqueuing more."));
            }
            var now = NowMs;
            w.Command(
                """
                INSERT INTO relay_queue (envelope_id, recipient_id, envelope, size, enqueued_at, next_attempt_at, expires_at)
                VALUES (@envelope_id, @recipient_id, @envelope, @size, @now, @now, @expires_at)
                """)
                .Bind("@envelope_id", envelopeId)
                .Bind("@recipient_id", recipientId)
                .Bind("@envelope", bytes)
                .Bind("@size", bytes.Length)
                .Bind("@now", now)
                .Bind("@expires_at", SaturatingAdd(now, timeToLive))
                .ExecuteNonQuery();
            StorageMetrics.RelayEnqueued.Add(1);
            return true;
        }, cancellationToken);
    }

    private static long SaturatingAdd(long unixMs, TimeSpan span)
    {
        var ms = span.TotalMilliseconds;
        return ms >= long.MaxValue - unixMs ? long.MaxValue : unixMs + (long)Math.Ceiling(ms);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<RelayItem>> LeaseRelayAsync(int maxItems, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        if (maxItems < 1 || maxItems > MaxLeaseBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(maxItems), maxItems, $"Must be between 1 and {MaxLeaseBatch}.");
        }
        if (leaseDuration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(leaseDuration), leaseDuration, "Must be positive.");
        }
        return WriteAsync<IReadOnlyList<RelayItem>>(w =>
        {
            var now = NowMs;
            var until = SaturatingAdd(now, leaseDuration);
            // Moving next_attempt_at to the lease end hides the item from other leasers until then, and makes it
            // due again by itself if the leaser never acks or fails it.
            var command = w.Command(
                """
                UPDATE relay_queue SET next_attempt_at = @until, lease_until = @until
                WHERE id IN (SELECT id FROM relay_queue
                             WHERE state = 0 AND next_attempt_at <= @now AND expires_at > @now
                             ORDER BY next_attempt_at, id LIMIT @limit)
                RETURNING id, envelope_id, recipient_id, envelope, attempts, enqueued_at, expires_at
                """)
                .Bind("@until", until)
                .Bind("@now", now)
                .Bind("@limit", maxItems);
            var rows = new List<(long Id, RelayItem Item)>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    rows.Add((reader.GetInt64(0), new RelayItem
                    {
                        EnvelopeId = reader.GetString(1),
                        RecipientId = reader.GetString(2),
                        Envelope = (byte[])reader.GetValue(3),
                        Attempts = reader.GetInt32(4),
                        EnqueuedAt = FromUnixMs(reader.GetInt64(5)),
                        ExpiresAt = FromUnixMs(Math.Min(reader.GetInt64(6), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())),
                        LeasedUntil = FromUnixMs(Math.Min(until, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())),
                    }));
                }
            }
            rows.Sort((a, b) => a.Id.CompareTo(b.Id));
            return rows.ConvertAll(r => r.Item);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> AckRelayAsync(string envelopeId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(envelopeId);
        return WriteAsync(w =>
            w.Command("DELETE FROM relay_queue WHERE envelope_id = @envelope_id AND state = 0")
                .Bind("@envelope_id", envelopeId)
                .ExecuteNonQuery() == 1, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<RelayFailOutcome> FailRelayAsync(string envelopeId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(envelopeId);
        return WriteAsync(w =>
        {
            var current = w.Command("SELECT attempts FROM relay_queue WHERE envelope_id = @envelope_id AND state = 0")
                .Bind("@envelope_id", envelopeId).ExecuteScalar();
            if (current is not long previous)
            {
                return RelayFailOutcome.NotFound;
            }
            var attempts = previous + 1;
            if (attempts >= _options.RelayMaxAttempts)
            {
                w.Command("UPDATE relay_queue SET state = 1, attempts = @attempts, lease_until = 0 WHERE envelope_id = @envelope_id")
                    .Bind("@attempts", attempts)
                    .Bind("@envelope_id", envelopeId)
                    .ExecuteNonQuery();
                StorageMetrics.RelayDeadLettered.Add(1);
                return RelayFailOutcome.DeadLettered;
            }
            w.Command("UPDATE relay_queue SET attempts = @attempts, next_attempt_at = @next, lease_until = 0 WHERE envelope_id = @envelope_id")
                .Bind("@attempts", attempts)
                .Bind("@next", SaturatingAdd(NowMs, RetryDelay(attempts)))
                .Bind("@envelope_id", envelopeId)
                .ExecuteNonQuery();
            return RelayFailOutcome.Rescheduled;
        }, cancellationToken);
    }

    /// <summary>
    /// Backoff after the <paramref name="attempts"/>-th failure: base × 2^(attempts-1), capped at the maximum,
    /// then lengthened by a random 0..jitter fraction.
    /// </summary>
    internal TimeSpan RetryDelay(long attempts)
    {
        var exponential = _options.RelayBaseRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 62));
        var capped = Math.Min(exponential, _options.RelayMaxRetryDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 + (_options.RelayRetryJitter * Random.Shared.NextDouble())));
    }

    /// <inheritdoc/>
    public Task<int> PurgeExpiredRelayAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(w =>
            w.Command("DELETE FROM relay_queue WHERE expires_at <= @now OR state = 1")
                .Bind("@now", NowMs)
                .ExecuteNonQuery(), cancellationToken);

    /// <inheritdoc/>
    public Task<RelayQueueStats> GetRelayStatsAsync(string? recipientId = null, CancellationToken cancellationToken = default)
    {
        if (recipientId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(recipientId);
        }
        return ReadAsync(r =>
        {
            var command = r.Command(
                """
                SELECT count(*) FILTER (WHERE state = 0),
                       coalesce(sum(size) FILTER (WHERE state = 0), 0),
                       min(enqueued_at) FILTER (WHERE state = 0),
                       count(*) FILTER (WHERE state = 1)
                FROM relay_queue WHERE @recipient_id IS NULL OR recipient_id = @recipient_id
                """)
                .Bind("@recipient_id", recipientId);
            using var reader = command.ExecuteReader();
            reader.Read();
            return new RelayQueueStats
            {
                Count = reader.GetInt64(0),
                Bytes = reader.GetInt64(1),
                OldestEnqueuedAt = reader.GetNullableInt64(2) is { } oldest ? FromUnixMs(oldest) : null,
                DeadLettered = reader.GetInt64(3),
            };
        }, cancellationToken);
    }
}
