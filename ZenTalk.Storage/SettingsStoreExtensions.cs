using System.Text;

namespace ZenTalk.Storage;

/// <summary>String values for <see cref="ISettingsStore"/>, stored as UTF-8.</summary>
public static class SettingsStoreExtensions
{
    /// <summary>Gets a value as a UTF-8 string.</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key (not empty).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The value, or <see langword="null"/> if the key is unknown or its entry has expired.</returns>
    public static async Task<string?> GetSettingStringAsync(this ISettingsStore store, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var value = await store.GetSettingAsync(key, cancellationToken).ConfigureAwait(false);
        return value is null ? null : Encoding.UTF8.GetString(value);
    }

    /// <summary>Sets a string value (stored as UTF-8).</summary>
    /// <param name="store">The store.</param>
    /// <param name="key">The key (not empty).</param>
    /// <param name="value">The value.</param>
    /// <param name="timeToLive">For a cache entry, how long it stays visible; <see langword="null"/> for a setting that never expires.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>A task that completes when the value is stored.</returns>
    public static Task SetSettingStringAsync(this ISettingsStore store, string key, string value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(value);
        return store.SetSettingAsync(key, Encoding.UTF8.GetBytes(value), timeToLive, cancellationToken);
    }
}
