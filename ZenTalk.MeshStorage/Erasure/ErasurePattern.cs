namespace ZenTalk.MeshStorage.Erasure;

/// <summary>The decode-cache key: which of up to 256 shards are present, and whether only data shards are rebuilt.</summary>
internal readonly struct ErasurePattern : IEquatable<ErasurePattern>
{
    private readonly ulong _p0, _p1, _p2, _p3;
    private readonly bool _dataOnly;

    public ErasurePattern(ReadOnlySpan<bool> present, bool dataOnly)
    {
        Span<ulong> bits = stackalloc ulong[4];
        bits.Clear();
        for (int i = 0; i < present.Length; i++)
        {
            if (present[i])
            {
                bits[i >> 6] |= 1UL << (i & 63);
            }
        }

        (_p0, _p1, _p2, _p3) = (bits[0], bits[1], bits[2], bits[3]);
        _dataOnly = dataOnly;
    }

    public bool Equals(ErasurePattern other) =>
        _p0 == other._p0 && _p1 == other._p1 && _p2 == other._p2 && _p3 == other._p3 && _dataOnly == other._dataOnly;

    public override bool Equals(object? obj) => obj is ErasurePattern other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_p0, _p1, _p2, _p3, _dataOnly);
}
