using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The address prefix a shard store accounts a sender's bytes to (<see cref="Shards.ShardHold.SenderPrefix"/>): the
/// /24 of an IPv4 address, the /48 of an IPv6 one, in IPv6 form (IPv4 as ::ffff:a.b.c.0), as one 128-bit number.
/// </summary>
internal static class SenderPrefix
{
    public static UInt128 Of(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        var v6 = address.AddressFamily == AddressFamily.InterNetwork || address.IsIPv4MappedToIPv6
            ? address.MapToIPv6()
            : address;
        if (!v6.TryWriteBytes(bytes, out _)) return UInt128.Zero;
        bool mapped = address.AddressFamily == AddressFamily.InterNetwork || address.IsIPv4MappedToIPv6;
        bytes[(mapped ? 15 : 6)..].Clear(); // ::ffff:a.b.c.0, or the first 48 bits of IPv6
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
