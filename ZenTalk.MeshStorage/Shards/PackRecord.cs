using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One shard in a pack file (layout version 3): a 136-byte header, the shard bytes, zero padding to the next
/// multiple of <see cref="Alignment"/>. Records start on aligned offsets, so a reader that meets a damaged header
/// can step to the next boundary and carry on. Integers are little-endian. See docs/formats.md.
/// <code>
///   0  4  magic "ZTSR"
///   4  1  layout version (3)
///   5  1  state: 1 live, 2 dead (rewritten in place by a delete; not covered by the checksum)
///   6  2  zero
///   8  8  payload length
///  16 32  SHA-256 of the payload (the shard's key)
///  48  8  stored at, Unix milliseconds
///  56  8  expires at, Unix milliseconds (0 = never)
///  64 32  CID digest (all zero = unknown)
///  96 32  owner key id (all zero = unknown)
/// 128  8  first 8 bytes of SHA-256(pack salt ‖ bytes 0..127 with byte 5 read as 0)
/// </code>
/// The checksum is keyed with the pack's secret salt (<see cref="PackFile"/>): shard bytes come from peers, and a
/// peer that hid a well-formed record header inside a shard must not be able to make a recovering reader accept it.
/// </summary>
internal static class PackRecord
{
    public const int HeaderSize = 136;
    public const int Alignment = 512;
    public const byte LayoutVersion = 3;
    public const int StateOffset = 5;
    public const byte Live = 1;
    public const byte Dead = 2;
    private static ReadOnlySpan<byte> Magic => "ZTSR"u8;

    /// <summary>The bytes a record of <paramref name="payloadLength"/> takes in its pack, padding included.</summary>
    public static long Size(long payloadLength) => Align(HeaderSize + payloadLength);

    public static long Align(long offset) => (offset + Alignment - 1) & ~(long)(Alignment - 1);

    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> salt, ShardInfo info)
    {
        header[..HeaderSize].Clear();
        Magic.CopyTo(header);
        header[4] = LayoutVersion;
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], info.Length);
        info.Hash.CopyTo(header[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], info.StoredAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(header[56..], info.Metadata.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
        info.Metadata.Cid?.CopyDigestTo(header[64..]);
        info.Metadata.OwnerKeyId?.CopyTo(header[96..]);
        Checksum(header, salt, header[128..136]);
        header[StateOffset] = Live;
    }

    /// <summary>Reads a header; false when it is not one (magic, version, checksum, state or length wrong).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, ReadOnlySpan<byte> salt, out ShardInfo info, out bool live)
    {
        info = null!;
        live = false;
        if (header.Length < HeaderSize || !header[..4].SequenceEqual(Magic) || header[4] != LayoutVersion
            || header[StateOffset] is not (Live or Dead))
        {
            return false;
        }

        Span<byte> check = stackalloc byte[8];
        Checksum(header, salt, check);
        var length = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (!check.SequenceEqual(header[128..136]) || length < 0 || length > int.MaxValue)
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
        live = header[StateOffset] == Live;
        return true;
    }

    private static void Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> salt, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[PackFile.SaltSize + 128];
        salt.CopyTo(input);
        var body = input[PackFile.SaltSize..];
        header[..128].CopyTo(body);
        body[StateOffset] = 0;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        hash[..destination.Length].CopyTo(destination);
    }
}
