namespace ZenTalk.StorageNode;

/// <summary>Remembers the nonces of accepted signed requests for as long as their timestamps are acceptable, so a
/// captured request cannot be replayed.</summary>
internal sealed class NonceCache(TimeProvider time, TimeSpan window)
{
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Records the nonce; false when it was already used within the window.</summary>
    public bool TryUse(string nonce)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_seen.Count > 1024)
            {
                foreach (var expired in _seen.Where(p => p.Value < now).Select(p => p.Key).ToList())
                {
                    _seen.Remove(expired);
                }
            }
            if (_seen.TryGetValue(nonce, out var until) && until >= now)
            {
                return false;
            }
            // Twice the skew: a timestamp may be up to one window in the past or in the future.
            _seen[nonce] = now + window + window;
            return true;
        }
    }
}
