using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// The network prefix an address is counted under for limits that one operator must not escape by using many
/// addresses: IPv4 /24 and IPv6 /48 (the usual smallest allocation to one site), an IPv4-mapped IPv6 address counted as
/// the IPv4 address it maps. Two addresses in the same prefix are equal keys; the value is cheap to hash and compare.
/// </summary>
internal readonly record struct AddressPrefix
{
    /// <summary>Prefix length of IPv4 keys.</summary>
    public const int IPv4Bits = 24;

    /// <summary>Prefix length of IPv6 keys.</summary>
    public const int IPv6Bits = 48;

    private AddressPrefix(bool isIPv6, ulong bits)
    {
        IsIPv6 = isIPv6;
        Bits = bits;
    }

    /// <summary>Whether this is an IPv6 /48 (otherwise an IPv4 /24).</summary>
    public bool IsIPv6 { get; }

    /// <summary>The prefix's leading bits (3 bytes for IPv4, 6 for IPv6), big-endian in the low bytes.</summary>
    private ulong Bits { get; }

    /// <summary>The prefix <paramref name="address"/> belongs to.</summary>
    /// <exception cref="ArgumentException">The address is neither IPv4 nor IPv6.</exception>
    public static AddressPrefix Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
            throw new ArgumentException($"Address {address} has no byte form.", nameof(address));
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork when written == 4 => new AddressPrefix(false, (ulong)BinaryPrimitives.ReadUInt32BigEndian(bytes) >> (32 - IPv4Bits)),
            AddressFamily.InterNetworkV6 when written == 16 => new AddressPrefix(true, BinaryPrimitives.ReadUInt64BigEndian(bytes) >> (64 - IPv6Bits)),
            _ => throw new ArgumentException($"Address {address} is neither IPv4 nor IPv6.", nameof(address)),
        };
    }

    /// <summary>
    /// The prefix as one 128-bit number in IPv6 form, the bits past the prefix zero and an IPv4 /24 as
    /// ::ffff:a.b.c.0: how a shard store keeps a sender's prefix on disk (docs/formats.md §4.1).
    /// </summary>
    public UInt128 ToUInt128() => IsIPv6
        ? (UInt128)Bits << (128 - IPv6Bits)
        : ((UInt128)0xFFFF << 32) | ((UInt128)Bits << (32 - IPv4Bits));

    /// <summary>The prefix in CIDR notation, e.g. "198.51.100.0/24" or "2001:db8:1::/48".</summary>
    public override string ToString()
    {
        if (!IsIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)(Bits << (32 - IPv4Bits)));
            return $"{new IPAddress(v4)}/{IPv4Bits}";
        }

        Span<byte> v6 = stackalloc byte[16];
        v6.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(v6, Bits << (64 - IPv6Bits));
        return $"{new IPAddress(v6)}/{IPv6Bits}";
    }
}
