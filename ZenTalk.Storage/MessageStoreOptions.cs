using Microsoft.Extensions.Logging;

namespace ZenTalk.Storage;

/// <summary>Settings for <see cref="SqliteMessageStore"/>. Every property has a documented default.</summary>
public sealed class MessageStoreOptions
{
    /// <summary>The clock for every time the store records or compares. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the store logs (open, migrations, backup, restore). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// How long a connection waits for a lock held by another process before failing (<c>PRAGMA busy_timeout</c>).
    /// Inside one store, writes are serialized and never wait on SQLite locks. Default: 5 seconds.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most read connections kept open at once; more concurrent readers wait. Default: 8.</summary>
    public int MaxReadConnections { get; set; } = 8;

    /// <summary>Page cache per connection, in KiB (<c>PRAGMA cache_size</c>). Default: 16384 (16 MiB).</summary>
    public int CacheSizeKiB { get; set; } = 16384;

    /// <summary>Bytes of the file mapped into memory for reads (<c>PRAGMA mmap_size</c>); 0 disables. Default: 256 MiB.</summary>
    public long MmapSize { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Run <c>PRAGMA quick_check</c> when opening, so damage deep inside the file is reported at open rather than
    /// on first use. It reads the whole file. Default: <see langword="false"/>.
    /// </summary>
    public bool VerifyIntegrityOnOpen { get; set; }

    /// <summary>Failed relay attempts after which an envelope is dead-lettered. Default: 8.</summary>
    public int RelayMaxAttempts { get; set; } = 8;

    /// <summary>Backoff after the first failed relay attempt; it doubles with each failure. Default: 5 seconds.</summary>
    public TimeSpan RelayBaseRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest backoff between relay attempts, before jitter. Default: 1 hour.</summary>
    public TimeSpan RelayMaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Random extra backoff as a fraction of the computed delay (0.2 = up to 20 % longer), so many failing
    /// envelopes do not retry in lock step. Between 0 and 1. Default: 0.2.
    /// </summary>
    public double RelayRetryJitter { get; set; } = 0.2;

    /// <summary>The most pending envelopes one recipient may have. Default: 10,000.</summary>
    public int RelayMaxItemsPerRecipient { get; set; } = 10_000;

    /// <summary>The most pending envelope bytes one recipient may have. Default: 64 MiB.</summary>
    public long RelayMaxBytesPerRecipient { get; set; } = 64L * 1024 * 1024;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (BusyTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "Must not be negative.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReadConnections, 1, nameof(MaxReadConnections));
        ArgumentOutOfRangeException.ThrowIfNegative(CacheSizeKiB, nameof(CacheSizeKiB));
        ArgumentOutOfRangeException.ThrowIfNegative(MmapSize, nameof(MmapSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(RelayMaxAttempts, 1, nameof(RelayMaxAttempts));
        if (RelayBaseRetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RelayBaseRetryDelay), RelayBaseRetryDelay, "Must be positive.");
        }
        if (RelayMaxRetryDelay < RelayBaseRetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(RelayMaxRetryDelay), RelayMaxRetryDelay, "Must be at least RelayBaseRetryDelay.");
        }
        if (!(RelayRetryJitter >= 0 && RelayRetryJitter <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(RelayRetryJitter), RelayRetryJitter, "Must be between 0 and 1.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(RelayMaxItemsPerRecipient, 1, nameof(RelayMaxItemsPerRecipient));
        ArgumentOutOfRangeException.ThrowIfLessThan(RelayMaxBytesPerRecipient, 1, nameof(RelayMaxBytesPerRecipient));
    }
}
