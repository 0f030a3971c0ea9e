using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>
/// A 256-bit node identifier: the SHA-256 of a node's public key (SubjectPublicKeyInfo). Distances between ids
/// are XOR (Kademlia's metric), compared as unsigned 256-bit big-endian numbers.
/// </summary>
/// <remarks>Text forms: 64 lowercase hex digits (<see cref="ToString"/>) or 52 lowercase RFC 4648 base32
/// characters without padding (<see cref="ToBase32"/>); <see cref="Parse"/> accepts both.</remarks>
public readonly struct NodeId : IEquatable<NodeId>, IComparable<NodeId>
{
    /// <summary>The length of an id in bytes (32).</summary>
    public const int Size = 32;

    /// <summary>The number of bits in an id (256).</summary>
    public const int Bits = 256;

    // Four big-endian words so that XOR and ordering are four machine operations, not a byte loop.
    private readonly ulong _w0, _w1, _w2, _w3;

    private NodeId(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0; _w1 = w1; _w2 = w2; _w3 = w3;
    }

    /// <summary>Creates an id from its 32 bytes (big-endian: byte 0 holds the most significant bits).</summary>
    /// <param name="bytes">Exactly 32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not 32 bytes long.</exception>
    public NodeId(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"A node id is {Size} bytes; got {bytes.Length}.", nameof(bytes));
        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]);
    }

    /// <summary>The id of a public key: SHA-256 of its DER SubjectPublicKeyInfo.</summary>
    /// <param name="subjectPublicKeyInfo">The DER-encoded SubjectPublicKeyInfo of the key.</param>
    /// <returns>The node id that key stands for.</returns>
    public static NodeId FromPublicKey(ReadOnlySpan<byte> subjectPublicKeyInfo)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(subjectPublicKeyInfo, hash);
        return new NodeId(hash);
    }

    /// <summary>The all-zero id (also the distance of an id to itself).</summary>
    public static NodeId Zero => default;

    /// <summary>Creates a uniformly random id (for lookups of random keys and bucket refresh).</summary>
    /// <returns>A random id from the cryptographic random number generator.</returns>
    public static NodeId Random()
    {
        Span<byte> b = stackalloc byte[Size];
        RandomNumberGenerator.Fill(b);
        return new NodeId(b);
    }

    internal static NodeId Random(System.Random random)
    {
        Span<byte> b = stackalloc byte[Size];
        random.NextBytes(b);
        return new NodeId(b);
    }

    /// <summary>The XOR distance between this id and <paramref name="other"/>.</summary>
    /// <param name="other">The other id.</param>
    /// <returns>The distance, itself a 256-bit value comparable with <see cref="CompareTo"/>.</returns>
    public NodeId DistanceTo(NodeId other) =>
        new(_w0 ^ other._w0, _w1 ^ other._w1, _w2 ^ other._w2, _w3 ^ other._w3);

    /// <summary>Number of leading zero bits (256 for <see cref="Zero"/>); for a distance, the shared prefix length.</summary>
    /// <returns>0 to 256.</returns>
    public int LeadingZeroCount()
    {
        if (_w0 != 0) return BitOperations.LeadingZeroCount(_w0);
        if (_w1 != 0) return 64 + BitOperations.LeadingZeroCount(_w1);
        if (_w2 != 0) return 128 + BitOperations.LeadingZeroCount(_w2);
        if (_w3 != 0) return 192 + BitOperations.LeadingZeroCount(_w3);
        return Bits;
    }

    /// <summary>Compares which of two ids is closer to this one.</summary>
    /// <param name="a">The first candidate.</param>
    /// <param name="b">The second candidate.</param>
    /// <returns>Negative when <paramref name="a"/> is closer, positive when <paramref name="b"/> is, zero when equal.</returns>
    public int CompareDistance(NodeId a, NodeId b) => DistanceTo(a).CompareTo(DistanceTo(b));

    /// <summary>Returns the value of bit <paramref name="index"/> (0 = most significant).</summary>
    internal bool GetBit(int index)
    {
        ulong w = (index >> 6) switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };
        return ((w >> (63 - (index & 63))) & 1) != 0;
    }

    /// <summary>An id that shares exactly the first <paramref name="prefixLength"/> bits with this one and is random after (for bucket refresh).</summary>
    internal NodeId RandomWithSharedPrefix(int prefixLength, System.Random random)
    {
        if ((uint)prefixLength >= Bits) return this;
        Span<byte> mine = stackalloc byte[Size];
        Span<byte> r = stackalloc byte[Size];
        WriteTo(mine);
        random.NextBytes(r);
        for (int i = 0; i < Size; i++)
        {
            int bitStart = i * 8;
            if (bitStart + 8 <= prefixLength) r[i] = mine[i];
            else if (bitStart < prefixLength)
            {
                int keep = prefixLength - bitStart;
                byte mask = (byte)(0xFF << (8 - keep));
                r[i] = (byte)((mine[i] & mask) | (r[i] & ~mask));
            }
        }
        // Flip the bit right after the prefix so the shared prefix is exactly prefixLength bits.
        int flipByte = prefixLength / 8;
        byte flip = (byte)(0x80 >> (prefixLength % 8));
        r[flipByte] = (byte)((r[flipByte] & ~flip) | (~mine[flipByte] & flip));
        return new NodeId(r);
    }

    /// <summary>Writes the 32 bytes of the id.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than 32 bytes.</exception>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
            throw new ArgumentException($"Needs {Size} bytes of space.", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    /// <summary>The 32 bytes of the id in a new array.</summary>
    /// <returns>A new 32-byte array.</returns>
    public byte[] ToByteArray()
    {
        var b = new byte[Size];
        WriteTo(b);
        return b;
    }

    /// <summary>The id as 64 lowercase hex digits.</summary>
    /// <returns>The hex text.</returns>
    public override string ToString()
    {
        Span<byte> b = stackalloc byte[Size];
        WriteTo(b);
        return Convert.ToHexStringLower(b);
    }

    /// <summary>The id as 52 lowercase base32 characters (RFC 4648 alphabet, no padding), safe in DNS labels.</summary>
    /// <returns>The base32 text.</returns>
    public string ToBase32() => string.Create(Base32.EncodedLength(Size), this, static (chars, id) =>
    {
        Span<byte> bytes = stackalloc byte[Size];
        id.WriteTo(bytes);
        Base32.Encode(bytes, chars);
    });

    /// <summary>Parses the hex (64 digits) or base32 (52 characters) form, case-insensitively.</summary>
    /// <param name="text">The text to parse.</param>
    /// <returns>The id.</returns>
    /// <exception cref="FormatException"><paramref name="text"/> is neither form.</exception>
    public static NodeId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (TryParse(text, out var id)) return id;
        throw new FormatException($"'{text}' is not a node id: expected 64 hex digits or 52 base32 characters.");
    }

    /// <summary>Tries to parse the hex (64 digits) or base32 (52 characters) form, case-insensitively.</summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="id">The id when the text is valid.</param>
    /// <returns>Whether the text was a valid id.</returns>
    public static bool TryParse(string? text, out NodeId id)
    {
        id = default;
        if (text is null) return false;
        Span<byte> b = stackalloc byte[Size];
        if (text.Length == 64)
        {
            if (Convert.FromHexString(text, b, out int consumed, out int written) != System.Buffers.OperationStatus.Done
                || consumed != 64 || written != Size)
                return false;
            id = new NodeId(b);
            return true;
        }
        if (Base32.TryDecode(text, b, ignoreCase: true))
        {
            id = new NodeId(b);
            return true;
        }

        return false;
    }

    /// <inheritdoc/>
    public bool Equals(NodeId other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NodeId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_w0, _w3);

    /// <summary>Orders ids as unsigned 256-bit big-endian numbers (so distances order by closeness).</summary>
    /// <param name="other">The id to compare with.</param>
    /// <returns>Negative, zero or positive.</returns>
    public int CompareTo(NodeId other)
    {
        int c = _w0.CompareTo(other._w0);
        if (c != 0) return c;
        c = _w1.CompareTo(other._w1);
        if (c != 0) return c;
        c = _w2.CompareTo(other._w2);
        return c != 0 ? c : _w3.CompareTo(other._w3);
    }

    /// <summary>Equality of two ids.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(NodeId left, NodeId right) => left.Equals(right);

    /// <summary>Inequality of two ids.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(NodeId left, NodeId right) => !left.Equals(right);

    /// <summary>Unsigned 256-bit ordering.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether <paramref name="left"/> is smaller.</returns>
    public static bool operator <(NodeId left, NodeId right) => left.CompareTo(right) < 0;

    /// <summary>Unsigned 256-bit ordering.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether <paramref name="left"/> is greater.</returns>
    public static bool operator >(NodeId left, NodeId right) => left.CompareTo(right) > 0;

    /// <summary>Unsigned 256-bit ordering.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether <paramref name="left"/> is smaller or equal.</returns>
    public static bool operator <=(NodeId left, NodeId right) => left.CompareTo(right) <= 0;

    /// <summary>Unsigned 256-bit ordering.</summary>
    /// <param name="left">The first id.</param>
    /// <param name="right">The second id.</param>
    /// <returns>Whether <paramref name="left"/> is greater or equal.</returns>
    public static bool operator >=(NodeId left, NodeId right) => left.CompareTo(right) >= 0;
}
