using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    /// <summary>How many expired entries each settings write removes on its way, so collection needs no timer.</summary>
    private const int ExpiredSettingsPerWrite = 32;

    /// <inheritdoc/>
    public Task<byte[]?> GetSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return ReadAsync(r =>
        {
            var query = r.Raw("SELECT value FROM settings WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)");
            query.Bind(1, key);
            query.Bind(2, NowMs);
            try
            {
                return query.Step() ? query.GetBytes(0) : null;
            }
            finally
            {
                query.Reset();
            }
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task SetSettingAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (timeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeToLive), ttl, "Must be positive (or null for a setting that never expires).");
        }
        var bytes = value.ToArray();
        return WriteAsync(w =>
        {
            var now = NowMs;
            CollectExpiredSettings(w, now, ExpiredSettingsPerWrite);
            w.Command("INSERT OR REPLACE INTO settings (key, value, expires_at) VALUES (@key, @value, @expires_at)")
                .Bind("@key", key)
                .Bind("@value", bytes)
                .Bind("@expires_at", timeToLive is { } t ? SaturatingAdd(now, t) : null)
                .ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> RemoveSettingAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return WriteAsync(w =>
        {
            var now = NowMs;
            var removed = w.Command("DELETE FROM settings WHERE key = @key RETURNING expires_at")
                .Bind("@key", key)
                .ExecuteScalar();
            CollectExpiredSettings(w, now, ExpiredSettingsPerWrite);
            return removed is not null && (removed is DBNull || (long)removed > now);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> PurgeExpiredSettingsAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(w => CollectExpiredSettings(w, NowMs, int.MaxValue), cancellationToken);

    private static int CollectExpiredSettings(StoreConnection w, long now, int limit) =>
        w.Command(
            """
            DELETE FROM settings WHERE key IN
                (SELECT key FROM settings WHERE expires_at IS NOT NULL AND expires_at <= @now ORDER BY expires_at LIMIT @limit)
            """)
            .Bind("@now", now)
            .Bind("@limit", limit)
            .ExecuteNonQuery();
}
