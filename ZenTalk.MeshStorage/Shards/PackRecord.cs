using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One shard in a pack file: a header, the shard bytes, zero padding to the next multiple of <see cref="Alignment"/>.
/// Records start on aligned offsets, so a reader that meets a damaged header can step to the next boundary and carry
/// on. Integers are little-endian. A pack holds records of one layout version, the one in its file header: new packs
/// are written in <see cref="CurrentVersion"/> (4); packs of version 3 are still read. See docs/formats.md.
/// <code>
///   0  4  magic "ZTSR"
///   4  1  layout version (4; 3 in older packs)
///   5  1  state: 1 live, 2 dead (rewritten in place by a delete; not covered by the checksum)
///   6  2  zero
///   8  8  payload length
///  16 32  SHA-256 of the payload (the shard's key)
///  48  8  stored at, Unix milliseconds
///  56  8  expires at, Unix milliseconds (0 = never)
///  64 32  CID digest (all zero = unknown)
///  96 32  owner key id (all zero = unknown)
/// version 4 (144 bytes):
/// 128  4  CRC-32C of the payload (<see cref="Crc32C"/>)
/// 132  4  zero
/// 136  8  first 8 bytes of SHA-256(pack salt ‖ bytes 0..135 with byte 5 read as 0)
/// version 3 (136 bytes):
/// 128  8  first 8 bytes of SHA-256(pack salt ‖ bytes 0..127 with byte 5 read as 0)
/// </code>
/// The checksum is keyed with the pack's secret salt (<see cref="PackFile"/>): shard bytes come from peers, and a
/// peer that hid a well-formed record header inside a shard must not be able to make a recovering reader accept it.
/// A version 4 payload is checked on read by its CRC-32C (it was checked against its SHA-256 when it was put);
/// a version 3 payload, which has none, by its SHA-256.
/// </summary>
internal static class PackRecord
{
    /// <summary>The version new packs and records are written in.</summary>
    public const byte CurrentVersion = 4;

    /// <summary>The oldest record version a pack may hold and still be read.</summary>
    public const byte OldestVersion = 3;

    /// <summary>The header size of <see cref="CurrentVersion"/>.</summary>
    public const int HeaderSize = 144;

    public const int Alignment = 512;
    public const int StateOffset = 5;
    public const byte Live = 1;
    public const byte Dead = 2;
    private const int V3HeaderSize = 136;
    private const int CrcOffset = 128;
    private static ReadOnlySpan<byte> Magic => "ZTSR"u8;

    public static bool IsReadable(byte version) => version is OldestVersion or CurrentVersion;

    public static int HeaderSizeOf(byte version) => version == OldestVersion ? V3HeaderSize : HeaderSize;

    /// <summary>The bytes a record of <paramref name="payloadLength"/> takes in a pack of <paramref name="version"/>.</summary>
    public static long Size(byte version, long payloadLength) => Align(HeaderSizeOf(version) + payloadLength);

    /// <summary>The bytes a new record of <paramref name="payloadLength"/> takes, padding included.</summary>
    public static long Size(long payloadLength) => Size(CurrentVersion, payloadLength);

    public static long Align(long offset) => (offset + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>Writes a header of <see cref="CurrentVersion"/> for a payload whose CRC-32C is <paramref name="payloadCrc"/>.</summary>
    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> salt, ShardInfo info, uint payloadCrc)
    {
        header[..HeaderSize].Clear();
        Magic.CopyTo(header);
        header[4] = CurrentVersion;
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], info.Length);
        info.Hash.CopyTo(header[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], info.StoredAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(header[56..], info.Metadata.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
        info.Metadata.Cid?.CopyDigestTo(header[64..]);
        info.Metadata.OwnerKeyId?.CopyTo(header[96..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[CrcOffset..], payloadCrc);
        Checksum(header[..(HeaderSize - 8)], salt, header[(HeaderSize - 8)..HeaderSize]);
        header[StateOffset] = Live;
    }

    /// <summary>
    /// Reads a header of a record in a pack of <paramref name="version"/>; false when it is not one (magic, version,
    /// checksum, state or length wrong). <paramref name="payloadCrc"/> is null for version 3, which has none.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, byte version, ReadOnlySpan<byte> salt, out ShardInfo info,
        out uint? payloadCrc, out bool live)
    {
        info = null!;
        payloadCrc = null;
        live = false;
        var size = HeaderSizeOf(version);
        if (!IsReadable(version) || header.Length < size || !header[..4].SequenceEqual(Magic) || header[4] != version
            || header[StateOffset] is not (Live or Dead))
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

        var expiresMs = BinaryPrimitives.ReadInt64LittleEndian(header[56..]);
        var cid = new Sha256Hash(header.Slice(64, 32));
        var owner = new Sha256Hash(header.Slice(96, 32));
        info = new ShardInfo(
            new Sha256Hash(header.Slice(16, 32)),
            length,
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(header[48..])),
            new ShardMetadata(
                cid.IsZero ? null : Cid.FromDigest(cid),
                owner.IsZero ? null : owner,
                expiresMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(expiresMs)));
        if (version != OldestVersion) payloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[CrcOffset..]);
        live = header[StateOffset] == Live;
        return true;
    }

    /// <summary>
    /// Whether a payload read back from disk is the one its record was written with: by its CRC-32C when the record
    /// has one, else (version 3) by its SHA-256.
    /// </summary>
    public static bool PayloadMatches(ShardInfo info, uint? payloadCrc, ReadOnlySpan<byte> payload) =>
        payload.Length == info.Length && (payloadCrc is { } crc ? Crc32C.Compute(payload) == crc : info.Hash.Matches(payload));

    private static void Checksum(ReadOnlySpan<byte> covered, ReadOnlySpan<byte> salt, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[PackFile.SaltSize + HeaderSize];
        salt.CopyTo(input);
        var body = input.Slice(PackFile.SaltSize, covered.Length);
        covered.CopyTo(body);
        body[StateOffset] = 0;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..(PackFile.SaltSize + covered.Length)], hash);
        hash[..destination.Length].CopyTo(destination);
    }
}
