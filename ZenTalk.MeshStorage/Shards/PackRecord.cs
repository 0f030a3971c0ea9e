using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One shard in a pack file: a header, the shard bytes, zero padding to the next multiple of <see cref="Alignment"/>.
/// Records start on aligned offsets, so a reader that meets a damaged header can step to the next boundary and carry
/// on. Integers are little-endian. See docs/formats.md §4.
/// <code>
/// layout 1 (72 + 96 h bytes, h = 1..4 holds):
///   0  4  magic "ZTSR"
///   4  1  layout version 1 (equals the pack's)
///   5  1  state: 1 live, 2 dead (rewritten in place by a delete; not covered by the checksum)
///   6  1  hold count h
///   7  1  zero
///   8  8  payload length
///  16 32  SHA-256 of the payload (the shard's key)
///  48  8  stored at, Unix milliseconds
///  56  4  CRC-32C of the payload (<see cref="Crc32C"/>)
///  60  4  zero
///  64     h holds of 96 bytes: owner key id (32, zero = unknown), expires at (8, Unix ms, 0 = never), granted at (8,
///         Unix ms), sender node id (32, zero = unknown), sender address prefix (16, IPv6 form, zero = unknown)
///  64+96h 8  first 8 bytes of SHA-256(pack salt ‖ bytes 0..64+96h-1 with byte 5 read as 0)
/// </code>
/// The checksum is keyed with the pack's secret salt (<see cref="PackFile"/>): shard bytes come from peers, and a
/// peer that hid a well-formed record header inside a shard must not be able to make a recovering reader accept it.
/// A payload is checked on read by its CRC-32C (it was checked against its SHA-256 when it was put).
/// </summary>
internal static class PackRecord
{
    /// <summary>The layout version packs and records are written and read in.</summary>
    public const byte CurrentVersion = ShardStoreLayout.CurrentVersion;

    /// <summary>The most holds one record keeps (one per owner).</summary>
    public const int MaxHolds = 4;

    /// <summary>The largest header: one with <see cref="MaxHolds"/> holds.</summary>
    public const int MaxHeaderSize = HoldsOffset + (MaxHolds * HoldSize) + 8;

    public const int Alignment = 512;
    public const int StateOffset = 5;
    public const byte Live = 1;
    public const byte Dead = 2;
    private const int HoldsOffset = 64;
    private const int HoldSize = 96;
    private const int CrcOffset = 56;
    private static ReadOnlySpan<byte> Magic => "ZTSR"u8;

    /// <summary>The header size of a record with <paramref name="holds"/> holds.</summary>
    public static int HeaderSizeOf(int holds) => HoldsOffset + (holds * HoldSize) + 8;

    /// <summary>The bytes a record of <paramref name="info"/> takes in a pack, padding included.</summary>
    public static long Size(ShardInfo info) => Align(HeaderSizeOf(info.Holds.Length) + info.Length);

    public static long Align(long offset) => (offset + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>
    /// Writes a header for <paramref name="info"/>, whose payload's CRC-32C is
    /// <paramref name="payloadCrc"/>; returns its size.
    /// </summary>
    public static int WriteHeader(Span<byte> header, ReadOnlySpan<byte> salt, ShardInfo info, uint payloadCrc)
    {
        var holds = info.Holds.Length;
        if (holds is < 1 or > MaxHolds) throw new ArgumentException($"A record keeps 1 to {MaxHolds} holds; this one has {holds}.", nameof(info));
        var size = HeaderSizeOf(holds);
        header[..size].Clear();
        Magic.CopyTo(header);
        header[4] = CurrentVersion;
        header[6] = (byte)holds;
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], info.Length);
        info.Hash.CopyTo(header[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], info.StoredAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(header[CrcOffset..], payloadCrc);
        for (var i = 0; i < holds; i++)
        {
            var hold = info.Holds[i];
            var h = header.Slice(HoldsOffset + (i * HoldSize), HoldSize);
            hold.Owner.CopyTo(h);
            BinaryPrimitives.WriteInt64LittleEndian(h[32..], hold.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
            BinaryPrimitives.WriteInt64LittleEndian(h[40..], hold.GrantedAt.ToUnixTimeMilliseconds());
            hold.Sender.WriteTo(h[48..]);
            BinaryPrimitives.WriteUInt128BigEndian(h[80..], hold.SenderPrefix);
        }

        Checksum(header[..(size - 8)], salt, header[(size - 8)..size]);
        header[StateOffset] = Live;
        return size;
    }

    /// <summary>
    /// Reads a record header; false when it is not one (magic, version, hold count, checksum, state or length wrong,
    /// or <paramref name="header"/> too short for it).
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, ReadOnlySpan<byte> salt, out ShardInfo info,
        out uint payloadCrc, out bool live, out int headerSize)
    {
        info = null!;
        payloadCrc = 0;
        live = false;
        headerSize = 0;
        if (header.Length < 8 || !header[..4].SequenceEqual(Magic) || header[4] != CurrentVersion
            || header[StateOffset] is not (Live or Dead))
        {
            return false;
        }

        var holds = header[6];
        if (holds is < 1 or > MaxHolds || header[7] != 0)
        {
            return false;
        }

        var size = HeaderSizeOf(holds);
        if (header.Length < size)
        {
            return false;
        }

        Span<byte> check = stackalloc byte[8];
        Checksum(header[..(size - 8)], salt, check);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (!check.SequenceEqual(header[(size - 8)..size]) || length < 0 || length > int.MaxValue)
        {
            return false;
        }

        var builder = ImmutableArray.CreateBuilder<ShardHold>(holds);
        for (var i = 0; i < holds; i++)
        {
            var h = header.Slice(HoldsOffset + (i * HoldSize), HoldSize);
            var expiresMs = BinaryPrimitives.ReadInt64LittleEndian(h[32..]);
            builder.Add(new ShardHold(
                new Sha256Hash(h[..32]),
                expiresMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(expiresMs),
                DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(h[40..])),
                new NodeId(h.Slice(48, 32)),
                BinaryPrimitives.ReadUInt128BigEndian(h[80..])));
        }

        info = new ShardInfo(
            new Sha256Hash(header.Slice(16, 32)),
            length,
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(header[48..])),
            builder.MoveToImmutable());
        payloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[CrcOffset..]);
        live = header[StateOffset] == Live;
        headerSize = size;
        return true;
    }

    /// <summary>Whether a payload read back from disk is the one its record was written with (by its CRC-32C).</summary>
    public static bool PayloadMatches(ShardInfo info, uint payloadCrc, ReadOnlySpan<byte> payload) =>
        payload.Length == info.Length && Crc32C.Compute(payload) == payloadCrc;

    private static void Checksum(ReadOnlySpan<byte> covered, ReadOnlySpan<byte> salt, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[PackFile.SaltSize + MaxHeaderSize];
        salt.CopyTo(input);
        var body = input.Slice(PackFile.SaltSize, covered.Length);
        covered.CopyTo(body);
        body[StateOffset] = 0;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..(PackFile.SaltSize + covered.Length)], hash);
        hash[..destination.Length].CopyTo(destination);
    }
}
