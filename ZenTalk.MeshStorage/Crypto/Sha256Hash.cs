using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// A SHA-256 digest held by value (four 64-bit words), so shard keys and manifest hashes can be dictionary
/// keys and struct fields without allocating. Text form: 64 lower-case hex characters.
/// </summary>
internal readonly struct Sha256Hash : IEquatable<Sha256Hash>, IComparable<Sha256Hash>
{
    public const int Size = 32;

    private readonly ulong _a, _b, _c, _d;

    public Sha256Hash(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != Size)
        {
            throw new ArgumentException($"A SHA-256 digest is {Size} bytes, not {digest.Length}.", nameof(digest));
        }

        _a = BinaryPrimitives.ReadUInt64BigEndian(digest);
        _b = BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
        _c = BinaryPrimitives.ReadUInt64BigEndian(digest[16..]);
        _d = BinaryPrimitives.ReadUInt64BigEndian(digest[24..]);
    }

    /// <summary>True for the all-zero value, which we use as "none" (no real input hashes to it).</summary>
    public bool IsZero => (_a | _b | _c | _d) == 0;

    public static Sha256Hash Compute(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[Size];
        SHA256.HashData(data, digest);
        return new Sha256Hash(digest);
    }

    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination needs {Size} bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt64BigEndian(destination, _a);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Verifies that <paramref name="data"/> hashes to this value.</summary>
    public bool Matches(ReadOnlySpan<byte> data) => Compute(data) == this;

    public static bool TryParseHex(ReadOnlySpan<char> text, out Sha256Hash hash)
    {
        hash = default;
        if (text.Length != Size * 2)
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[Size];
        for (var i = 0; i < Size; i++)
        {
            var hi = HexValue(text[2 * i]);
            var lo = HexValue(text[(2 * i) + 1]);
            if (hi < 0 || lo < 0)
            {
                return false;
            }

            digest[i] = (byte)((hi << 4) | lo);
        }

        hash = new Sha256Hash(digest);
        return true;
    }

    // Only lower-case hex is accepted, so every hash has exactly one file name.
    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };

    public override string ToString()
    {
        Span<byte> digest = stackalloc byte[Size];
        CopyTo(digest);
        return Convert.ToHexStringLower(digest);
    }

    public bool Equals(Sha256Hash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is Sha256Hash other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    public int CompareTo(Sha256Hash other)
    {
        var c = _a.CompareTo(other._a);
        if (c != 0) return c;
        c = _b.CompareTo(other._b);
        if (c != 0) return c;
        c = _c.CompareTo(other._c);
        return c != 0 ? c : _d.CompareTo(other._d);
    }

    public static bool operator ==(Sha256Hash left, Sha256Hash right) => left.Equals(right);

    public static bool operator !=(Sha256Hash left, Sha256Hash right) => !left.Equals(right);
}
