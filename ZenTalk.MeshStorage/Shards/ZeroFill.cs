using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// Zeros written ahead of the appends of a shard pack. On most file systems an append that grows a file makes its
/// <c>fdatasync</c> also write the inode (size, block map): a second synchronous write. Appends that overwrite zeros
/// written beforehand flush their bytes alone (measurements in docs/formats.md §4). The zeros are not flushed when
/// written: the first flush of an append into them makes them durable, once. A reader that finds zeros where a
/// record should start is past the file's records. Blocking: call it off the thread pool.
/// </summary>
internal static class ZeroFill
{
    private static readonly byte[] Chunk = new byte[256 << 10];

    /// <summary>256 KiB of zeros, never written: for record padding too.</summary>
    public static ReadOnlyMemory<byte> Zeros => Chunk;

    /// <summary>
    /// Writes zeros over [<paramref name="from"/>, <paramref name="to"/>) and returns how far it got (a full disk stops
    /// it early; the appends then grow the file themselves, as without it).
    /// </summary>
    public static long Write(SafeFileHandle handle, long from, long to)
    {
        try
        {
            while (from < to)
            {
                var chunk = (int)Math.Min(Chunk.Length, to - from);
                RandomAccess.Write(handle, Chunk.AsSpan(0, chunk), from);
                from += chunk;
            }
        }
        catch (IOException)
        {
            // Only an optimization: what was written is reported.
        }

        return from;
    }

    /// <summary>Whether every byte of [<paramref name="from"/>, <paramref name="to"/>) that the file has is zero.</summary>
    public static bool IsZero(SafeFileHandle handle, long from, long to)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(64 << 10);
        try
        {
            while (from < to)
            {
                var read = RandomAccess.Read(handle, chunk.AsSpan(0, (int)Math.Min(chunk.Length, to - from)), from);
                if (read <= 0) return true;
                if (chunk.AsSpan(0, read).ContainsAnyExcept((byte)0)) return false;
                from += read;
            }

            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
