using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The nonces of the owner-signed deletes a node carried out, on disk (<c>deletes.log</c> in its data directory), so
/// that a captured delete replayed after the node restarts is refused like one replayed before (docs/formats.md §6).
/// A nonce is kept while its request's timestamp is within twice the delete window of the clock; older ones are
/// dropped when the log is rewritten. Appends are flushed (<c>fdatasync</c>) before the delete they allow runs.
/// </summary>
internal sealed class DeleteNonceLog : IDisposable
{
    public const string FileName = "deletes.log";
    public const int EntrySize = DeleteAuthorization.NonceSize + 8 + 8;
    private const int HeaderSize = 8;
    private static ReadOnlySpan<byte> Header => "ZTDN\x01\0\0\0"u8;

    private readonly string _path;
    private readonly Lock _lock = new();
    private SafeFileHandle _handle;
    private long _end;
    private int _entries;

    private DeleteNonceLog(string path, SafeFileHandle handle, long end, int entries)
    {
        _path = path;
        _handle = handle;
        _end = end;
        _entries = entries;
    }

    /// <summary>
    /// Opens (or creates) the log in <paramref name="directory"/> and returns the nonces it holds with their
    /// timestamps. A damaged tail (a torn append) is cut off; a file that is not a nonce log is refused.
    /// </summary>
    /// <exception cref="MeshStorageException">The file is not a delete nonce log of this version.</exception>
    public static DeleteNonceLog Open(string directory, ILogger logger, out List<(byte[] Nonce, long TimestampUnixMs)> nonces)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        File.Delete(path + ".tmp"); // an unfinished rewrite, never read
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            nonces = [];
            long length = RandomAccess.GetLength(handle);
            if (length < HeaderSize)
            {
                RandomAccess.SetLength(handle, 0);
                RandomAccess.Write(handle, Header, 0);
                FileSync.Data(handle);
                FileSync.Directory(directory);
                return new DeleteNonceLog(path, handle, HeaderSize, 0);
            }

            var bytes = new byte[length];
            RandomAccess.Read(handle, bytes, 0);
            if (!bytes.AsSpan(0, HeaderSize).SequenceEqual(Header))
                throw new MeshStorageException($"'{path}' is not a delete nonce log of version 1 (written by a newer ZenTalk, or not ours); move it away to start a new one.");
            long offset = HeaderSize;
            Span<byte> check = stackalloc byte[32];
            for (; offset + EntrySize <= length; offset += EntrySize)
            {
                var entry = bytes.AsSpan((int)offset, EntrySize);
                SHA256.HashData(entry[..^8], check);
                if (!check[..8].SequenceEqual(entry[^8..])) break;
                nonces.Add((entry[..DeleteAuthorization.NonceSize].ToArray(), BinaryPrimitives.ReadInt64LittleEndian(entry[DeleteAuthorization.NonceSize..])));
            }

            if (offset < length)
            {
                logger.DeleteNonceLogTailCut(length - offset, path);
                RandomAccess.SetLength(handle, offset);
                FileSync.Data(handle);
            }

            return new DeleteNonceLog(path, handle, offset, nonces.Count);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>How many entries the file holds (live or not).</summary>
    public int Entries => Volatile.Read(ref _entries);

    /// <summary>Appends one nonce and flushes it (blocking: call it off the thread pool).</summary>
    public void Append(ReadOnlySpan<byte> nonce, long timestampUnixMs)
    {
        Span<byte> entry = stackalloc byte[EntrySize];
        Fill(entry, nonce, timestampUnixMs);
        lock (_lock)
        {
            RandomAccess.Write(_handle, entry, _end);
            FileSync.Data(_handle);
            _end += EntrySize;
            _entries++;
        }
    }

    /// <summary>
    /// Replaces the file with <paramref name="live"/> (write a temporary file, flush, rename, flush the directory), so
    /// the log holds only the nonces still inside their window. Blocking.
    /// </summary>
    public void Rewrite(IReadOnlyCollection<(byte[] Nonce, long TimestampUnixMs)> live)
    {
        var bytes = new byte[HeaderSize + (live.Count * EntrySize)];
        Header.CopyTo(bytes);
        int offset = HeaderSize;
        foreach (var (nonce, stamp) in live)
        {
            Fill(bytes.AsSpan(offset, EntrySize), nonce, stamp);
            offset += EntrySize;
        }

        lock (_lock)
        {
            var temp = _path + ".tmp";
            using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.Write(handle, bytes, 0);
                FileSync.Data(handle);
            }

            _handle.Dispose();
            File.Move(temp, _path, overwrite: true);
            FileSync.Directory(Path.GetDirectoryName(_path)!);
            _handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            _end = bytes.Length;
            _entries = live.Count;
        }
    }

    private static void Fill(Span<byte> entry, ReadOnlySpan<byte> nonce, long timestampUnixMs)
    {
        nonce.CopyTo(entry);
        BinaryPrimitives.WriteInt64LittleEndian(entry[DeleteAuthorization.NonceSize..], timestampUnixMs);
        Span<byte> check = stackalloc byte[32];
        SHA256.HashData(entry[..^8], check);
        check[..8].CopyTo(entry[^8..]);
    }

    public void Dispose()
    {
        lock (_lock) _handle.Dispose();
    }
}
