using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The on-disk form of one shard in layout version 2: a fixed 136-byte header, then the shard bytes. Keeping the
/// metadata in the same file as the bytes makes one atomic rename publish both, so the index can never disagree
/// with the data. Integers are little-endian. See docs/formats.md.
/// <code>
///   0  4  magic "ZTSH"
///   4  1  layout version (2)
///   5  3  zero
///   8  8  payload length
///  16 32  SHA-256 of the payload (equals the file name)
///  48  8  stored at, Unix milliseconds
///  56  8  expires at, Unix milliseconds (0 = never)
///  64 32  CID digest (all zero = unknown)
///  96 32  owner key id (all zero = unknown)
/// 128  8  first 8 bytes of SHA-256 over bytes 0..127 (header checksum)
/// </code>
/// </summary>
internal static class ShardFile
{
    public const int HeaderSize = 136;
    public const byte LayoutVersion = 2;
    private static ReadOnlySpan<byte> Magic => "ZTSH"u8;

    public static void WriteHeader(Span<byte> header, Sha256Hash hash, long length, DateTimeOffset storedAt, ShardMetadata metadata)
    {
        header[..HeaderSize].Clear();
        Magic.CopyTo(header);
        header[4] = LayoutVersion;
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], length);
        hash.CopyTo(header[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], storedAt.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(header[56..], metadata.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
        metadata.Cid?.CopyDigestTo(header[64..]);
        metadata.OwnerKeyId?.CopyTo(header[96..]);
        Span<byte> check = stackalloc byte[32];
        SHA256.HashData(header[..128], check);
        check[..8].CopyTo(header[128..]);
    }

    /// <summary>Reads a header; false when it is malformed (wrong magic, version, checksum or hash).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, Sha256Hash expectedHash, out ShardInfo info)
    {
        info = null!;
        if (header.Length < HeaderSize || !header[..4].SequenceEqual(Magic) || header[4] != LayoutVersion)
        {
            return false;
        }

        Span<byte> check = stackalloc byte[32];
        SHA256.HashData(header[..128], check);
        if (!check[..8].SequenceEqual(header[128..136]))
        {
            return false;
        }

        var hash = new Sha256Hash(header.Slice(16, 32));
        var length = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (hash != expectedHash || length < 0)
        {
            return false;
        }

        var storedAt = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(header[48..]));
        var expiresMs = BinaryPrimitives.ReadInt64LittleEndian(header[56..]);
        var cid = new Sha256Hash(header.Slice(64, 32));
        var owner = new Sha256Hash(header.Slice(96, 32));
        info = new ShardInfo(hash, length, storedAt, [ShardHold.FromLegacy(new ShardMetadata(
            cid.IsZero ? null : Cid.FromDigest(cid),
            owner.IsZero ? null : owner,
            expiresMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(expiresMs)), storedAt)]);
        return true;
    }

    /// <summary>
    /// Publishes a file atomically: write a temp file in the same directory, fsync it, rename over the target,
    /// fsync the directory. A crash at any point leaves either the old state or the new one, plus at worst a
    /// temp file (named <c>.tmp-*</c>) that the store deletes when it opens.
    /// </summary>
    public static Task WriteAtomicallyAsync(
        string path, ReadOnlyMemory<byte> header, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        BlockingIo.RunAsync(() => WriteAtomically(path, header.Span, payload.Span), cancellationToken);

    /// <summary>The blocking form of <see cref="WriteAtomicallyAsync"/>: call it only off the thread pool.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None,
                       FileOptions.None, preallocationSize: header.Length + payload.Length))
            {
                RandomAccess.Write(handle, header, 0);
                RandomAccess.Write(handle, payload, header.Length);
                RandomAccess.FlushToDisk(handle);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        FileSync.Directory(directory);
    }

    public const string TempPrefix = ".tmp-";

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
