namespace ZenTalk.MeshStorage.Distributed;

/// <summary>High-water marks that several threads raise at once (the most bytes or requests held at a time).</summary>
internal static class HighWater
{
    /// <summary>Sets <paramref name="mark"/> to <paramref name="value"/> if that is higher, whatever other threads do meanwhile.</summary>
    public static void Raise(ref int mark, int value)
    {
        for (int seen = Volatile.Read(ref mark); value > seen; seen = Volatile.Read(ref mark))
            if (Interlocked.CompareExchange(ref mark, value, seen) == seen) return;
    }

    /// <inheritdoc cref="Raise(ref int, int)"/>
    public static void Raise(ref long mark, long value)
    {
        for (long seen = Volatile.Read(ref mark); value > seen; seen = Volatile.Read(ref mark))
            if (Interlocked.CompareExchange(ref mark, value, seen) == seen) return;
    }
}
