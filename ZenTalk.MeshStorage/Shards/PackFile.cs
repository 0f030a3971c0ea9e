using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One append-only pack file of a shard store: a 512-byte file header, then
/// <see cref="PackRecord"/>s on 512-byte boundaries. Appends to the active pack go to offsets reserved by the store;
/// concurrent appends share one <c>fdatasync</c> (group commit, see <see cref="FlushAsync"/>). Readers hold a
/// reference (<see cref="TryAcquire"/>) so a pack retired by compaction closes only when the last read is done.
/// <code>
///   0  4  magic "ZTPK"
///   4  1  layout version of its records (1)
///   5  1  sealed: 1 once every record is written and flushed and no more will be appended (not checksummed)
///   6  2  zero
///   8  8  pack id (equals the file name)
///  16 16  salt: random, secret to this node, keys the record checksums
///  32  8  first 8 bytes of SHA-256(bytes 0..31 with byte 5 read as 0)
///  40 472 zero
/// </code>
/// </summary>
internal sealed class PackFile
{
    public const int FileHeaderSize = PackRecord.Alignment;
    public const int SaltSize = 16;
    public const string Extension = ".pack";
    private const int SealedOffset = 5;
    private static ReadOnlySpan<byte> Magic => "ZTPK"u8;

    private readonly Lock _flushGate = new();
    private List<TaskCompletionSource>? _waiting; // guarded by _flushGate
    private bool _flushing;                       // guarded by _flushGate
    private int _references = 1;                  // the owner's own reference; 0 = closed
    private int _writers;
    private bool _deleteOnClose;
    private long _deadBytes;
    private int _sealing;
    private volatile bool _rotated;

    private PackFile(long id, string path, SafeFileHandle handle, byte[] salt, bool sealedOnDisk)
    {
        Id = id;
        Path = path;
        Handle = handle;
        Salt = salt;
        Sealed = sealedOnDisk;
        End = FileHeaderSize;
        Prepared = FileHeaderSize;
    }

    public long Id { get; }

    public string Path { get; }

    public SafeFileHandle Handle { get; }

    public byte[] Salt { get; }

    /// <summary>The offset of the next append (the store reserves ranges under its append lock).</summary>
    public long End { get; set; }

    /// <summary>
    /// How far the file has been written: <see cref="End"/> plus the zeros written ahead of it (see
    /// <see cref="Preallocate"/>). Appends below it overwrite blocks that already exist, so their <c>fdatasync</c> has
    /// no file size or block allocation to make durable.
    /// </summary>
    public long Prepared { get; set; }

    /// <summary>Whether the header says sealed: no torn record can be in it.</summary>
    public bool Sealed { get; private set; }

    /// <summary>No more appends will be reserved in it (the store moved on to a new active pack).</summary>
    public bool Rotated
    {
        get => _rotated;
        set => _rotated = value;
    }

    /// <summary>Bytes of records that are dead (deleted, superseded, torn) or of damaged ranges.</summary>
    public long DeadBytes => Interlocked.Read(ref _deadBytes);

    public void AddDead(long bytes) => Interlocked.Add(ref _deadBytes, bytes);

    public static string NameOf(long id) => id.ToString("x16", CultureInfo.InvariantCulture) + Extension;

    public static bool TryParseName(string fileName, out long id)
    {
        id = 0;
        return fileName.Length == 16 + Extension.Length && fileName.EndsWith(Extension, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out id)
            && id > 0;
    }

    /// <summary>Creates a new, empty pack durably: header written and flushed, directory entry flushed.</summary>
    public static PackFile Create(string directory, long id)
    {
        var path = System.IO.Path.Combine(directory, NameOf(id));
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            var salt = RandomNumberGenerator.GetBytes(SaltSize);
            var header = new byte[FileHeaderSize];
            Magic.CopyTo(header);
            header[4] = PackRecord.CurrentVersion;
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), id);
            salt.CopyTo(header.AsSpan(16));
            HeaderChecksum(header, header.AsSpan(32, 8));
            RandomAccess.Write(handle, header, 0);
            FileSync.Data(handle);
            FileSync.Directory(directory);
            return new PackFile(id, path, handle, salt, sealedOnDisk: false);
        }
        catch
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Opens an existing pack; null when its file header is missing or damaged (the caller decides).</summary>
    public static PackFile? Open(string path, long id)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        var header = new byte[FileHeaderSize];
        var read = RandomAccess.Read(handle, header, 0);
        Span<byte> check = stackalloc byte[8];
        HeaderChecksum(header, check);
        if (read < FileHeaderSize || !header.AsSpan(0, 4).SequenceEqual(Magic) || header[4] != PackRecord.CurrentVersion
            || !check.SequenceEqual(header.AsSpan(32, 8)) || BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8)) != id)
        {
            handle.Dispose();
            return null;
        }

        return new PackFile(id, path, handle, header.AsSpan(16, SaltSize).ToArray(), sealedOnDisk: header[SealedOffset] == 1);
    }

    private static void HeaderChecksum(ReadOnlySpan<byte> header, Span<byte> destination)
    {
        Span<byte> body = stackalloc byte[32];
        header[..32].CopyTo(body);
        body[SealedOffset] = 0;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(body, hash);
        hash[..destination.Length].CopyTo(destination);
    }

    /// <summary>
    /// Writes zeros from <see cref="Prepared"/> (or <see cref="End"/>, if beyond it) up to <paramref name="to"/>, so that
    /// the appends that follow overwrite existing blocks and their flushes stay cheap (<see cref="ZeroFill"/>).
    /// Call it only where no append is reserved beyond <see cref="End"/> (under the store's append lock).
    /// </summary>
    public void Preallocate(long to) => Prepared = Math.Max(Prepared, ZeroFill.Write(Handle, Math.Max(Prepared, End), to));

    /// <summary>Marks the pack sealed on disk (blocking: call it off the thread pool).</summary>
    public void Seal()
    {
        if (Sealed || Interlocked.Exchange(ref _sealing, 1) == 1) return;
        if (Prepared > End)
        {
            // The zeros written ahead of the last record are not part of the pack.
            RandomAccess.SetLength(Handle, End);
            Prepared = End;
        }

        FileSync.Data(Handle);
        RandomAccess.Write(Handle, [1], SealedOffset);
        FileSync.Data(Handle);
        Sealed = true;
    }

    /// <summary>
    /// Makes every write that completed before this call durable. Callers that arrive while a flush runs share the
    /// next one, so N concurrent appends cost about two flushes, not N. The flush runs on <see cref="BlockingIo"/>.
    /// </summary>
    public Task FlushAsync()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_flushGate)
        {
            (_waiting ??= []).Add(waiter);
            start = !_flushing;
            _flushing = true;
        }

        if (start)
        {
            _ = BlockingIo.RunAsync(FlushLoop, CancellationToken.None);
        }

        return waiter.Task;
    }

    private void FlushLoop()
    {
        while (true)
        {
            List<TaskCompletionSource> batch;
            lock (_flushGate)
            {
                if (_waiting is not { Count: > 0 })
                {
                    _flushing = false;
                    return;
                }

                batch = _waiting;
                _waiting = null;
            }

            try
            {
                FileSync.Data(Handle);
                foreach (var waiter in batch) waiter.TrySetResult();
            }
#pragma warning disable CA1031 // The failure belongs to every waiter of this flush.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var waiter in batch) waiter.TrySetException(e);
            }
        }
    }

    /// <summary>Takes a reference for a read or write; false when the pack is already closed (retired).</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current == 0) return false;
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current) return true;
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        Handle.Dispose();
        if (_deleteOnClose)
        {
            try
            {
                File.Delete(Path);
                FileSync.Directory(System.IO.Path.GetDirectoryName(Path)!);
            }
            catch (IOException)
            {
                // Every record in it is marked dead and flushed: a leftover file is harmless and is removed at next open.
            }
        }
    }

    /// <summary>Drops the owner's reference; the file is deleted once the last reader is done.</summary>
    public void Retire()
    {
        _deleteOnClose = true;
        Release();
    }

    /// <summary>Counts an append in flight (reserved, not yet flushed).</summary>
    public void BeginWrite() => Interlocked.Increment(ref _writers);

    /// <summary>Ends an append; true when the pack is rotated and this was the last one in flight (time to seal).</summary>
    public bool EndWrite() => Interlocked.Decrement(ref _writers) == 0 && Rotated;

    /// <summary>Appends in flight.</summary>
    public int Writers => Volatile.Read(ref _writers);
}
