namespace ZenTalk.Storage;

/// <summary>
/// A small key-value store on the device for local preferences and cache entries. A setting lives until it is
/// removed; a cache entry is set with a time to live and, once expired, is invisible to reads and removed by the
/// store (a little at every write, all at once by <see cref="PurgeExpiredSettingsAsync"/>).
/// </summary>
/// <remarks>
/// Values are bytes, as in <c>IDistributedCache</c>, so any serializer fits;
/// <see cref="SettingsStoreExtensions"/> adds UTF-8 string helpers. Values are meant to be small (a preference, a
/// cached lookup): each read loads the whole value. Keys are case-sensitive. Backups carry the settings with the
/// messages.
/// </remarks>
public interface ISettingsStore
{
    /// <summary>Gets a value.</summary>
    /// <param name="key">The key (not empty).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The value, or <see langword="null"/> if the key is unknown or its entry has expired.</returns>
    Task<byte[]?> GetSettingAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Sets a value, replacing any earlier value and expiry of the key.</summary>
    /// <param name="key">The key (not empty).</param>
    /// <param name="value">The value (may be empty).</param>
    /// <param name="timeToLive">For a cache entry, how long it stays visible (positive); <see langword="null"/> for a setting that never expires.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>A task that completes when the value is stored.</returns>
    Task SetSettingAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <summary>Removes a value.</summary>
    /// <param name="key">The key (not empty).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if a value that had not expired was removed.</returns>
    Task<bool> RemoveSettingAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Removes every expired cache entry now.</summary>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>How many entries were removed.</returns>
    Task<int> PurgeExpiredSettingsAsync(CancellationToken cancellationToken = default);
}
