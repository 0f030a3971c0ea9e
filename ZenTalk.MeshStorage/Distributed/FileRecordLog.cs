using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The durable half of the <see cref="FileIndex"/>: one append-only file, <c>records.log</c>, of checksummed entries
/// (a manifest record, a tombstone record, or "forget this CID"); the format is in docs/formats.md §5. It replaces a
/// file per record: creating an inode per accepted record cost more CPU than the rest of a small store on ext4, and
/// those files were never fsynced. Appends are group-committed: every append made while a flush is running goes
/// into the next batch, which is written and fsynced once, on a blocking-I/O thread (<see cref="BlockingIo"/>).
/// When dead entries outnumber live ones in a log over <see cref="CompactionMinBytes"/>, the live set (taken from
/// memory) is written to a new log that atomically replaces the old one.
/// </summary>
internal sealed class FileRecordLog : IAsyncDisposable
{
    public const string FileName = "records.log";

    /// <summary>Magic "ZTFR", version byte, three zero bytes.</summary>
    public const int HeaderSize = 8;

    public const int ChecksumSize = 8;

    /// <summary>Kind byte + body length + checksum.</summary>
    public const int EntryOverhead = 1 + 4 + ChecksumSize;

    /// <summary>The DHT caps a record's value at 3 MiB; with its key, name and framing, 4 MiB is never reached by a valid record.</summary>
    public const int MaxBodySize = 4 * 1024 * 1024;

    /// <summary>A log this small is not worth rewriting, however many of its entries are dead.</summary>
    public const long CompactionMinBytes = 1024 * 1024;

    public const byte Version = 1;

    /// <summary>A batch buffer that grew past this (a large manifest) is dropped after use instead of kept.</summary>
    private const int KeptBufferCapacity = 256 * 1024;

    private static ReadOnlySpan<byte> Magic => "ZTFR"u8;

    /// <summary>The entry kinds; each is also the entry's first byte, readable in a hex dump.</summary>
    public enum Kind : byte
    {
        Manifest = (byte)'M',
        Tombstone = (byte)'T',
        Forget = (byte)'F',
    }

    /// <summary>One live entry, as the owner hands it to compaction.</summary>
    public readonly record struct Entry(Kind Kind, byte[] Body);

    private readonly string _directory;
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Func<int> _liveCount;
    private readonly Func<List<Entry>> _liveEntries;
    private readonly object _gate = new();

    // Used by one thread at a time: Open, then the flusher (one at most), then DisposeAsync after the flusher ended.
    private SafeFileHandle _handle = null!;
    private long _length;
    private long _entries;
    private bool _broken;
    private ArrayBufferWriter<byte> _spare = new();

    // Guarded by _gate.
    private ArrayBufferWriter<byte> _pending = new();
    private int _pendingCount;
    private TaskCompletionSource _pendingDone = NewCompletion();
    private Task _inFlightDone = Task.CompletedTask;
    private Task _flusher = Task.CompletedTask;
    private bool _flushing;
    private bool _deferred = true;
    private bool _closed;

    private FileRecordLog(string directory, ILogger logger, Func<int> liveCount, Func<List<Entry>> liveEntries)
    {
        _directory = directory;
        _path = Path.Combine(directory, FileName);
        _logger = logger;
        _liveCount = liveCount;
        _liveEntries = liveEntries;
    }

    public string FilePath => _path;

    /// <summary>
    /// Opens (or creates) the log in <paramref name="directory"/> and hands every intact entry, in order, to
    /// <paramref name="replay"/>. A torn or corrupt tail is cut off. Appends made before <see cref="Start"/> are
    /// kept in memory until <see cref="FlushNow"/> or <see cref="Start"/>.
    /// </summary>
    /// <param name="directory">The directory of the log (created by the caller).</param>
    /// <param name="logger">Where damage and failed writes are reported.</param>
    /// <param name="liveCount">How many entries the live set has now (for the compaction rule).</param>
    /// <param name="liveEntries">The live set, for compaction; called on the flusher's thread.</param>
    /// <param name="replay">Receives each intact entry's kind and body, in log order.</param>
    /// <exception cref="MeshStorageException">The file is not a record log, or was written by a newer version.</exception>
    public static FileRecordLog Open(string directory, ILogger logger, Func<int> liveCount, Func<List<Entry>> liveEntries,
        Action<Kind, ReadOnlySpan<byte>> replay)
    {
        var log = new FileRecordLog(directory, logger, liveCount, liveEntries);
        log._handle = File.OpenHandle(log._path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            log.Replay(replay);
        }
        catch
        {
            log._handle.Dispose();
            throw;
        }

        return log;
    }

    /// <summary>
    /// Appends an entry; the task completes when it is on disk, or when its write failed or it was too large (both
    /// logged: the caller keeps the record in memory either way, as it did when a record file could not be written).
    /// </summary>
    public Task Append(Kind kind, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBodySize)
        {
            // Never reached by a record the DHT accepts (3 MiB values); a reader would take it for damage.
            _logger.RecordLogEntryTooLarge(body.Length, kind, MaxBodySize);
            return Task.CompletedTask;
        }

        // Framed and hashed outside the lock: appenders only copy under it.
        var entry = new byte[EntryOverhead + body.Length];
        Encode(entry, kind, body);
        lock (_gate)
        {
            if (_closed) return Task.CompletedTask;
            _pending.Write(entry);
            _pendingCount++;
            if (!_flushing && !_deferred) StartFlusher();
            return _pendingDone.Task;
        }
    }

    /// <summary>A task that completes when every entry appended so far is on disk.</summary>
    public Task WhenDurable()
    {
        lock (_gate) return _pendingCount > 0 ? _pendingDone.Task : _inFlightDone;
    }

    /// <summary>Writes and fsyncs the pending entries on this thread; only before <see cref="Start"/>.</summary>
    /// <returns>Whether every pending entry is now on disk.</returns>
    public bool FlushNow()
    {
        lock (_gate)
        {
            if (!_deferred) throw new InvalidOperationException("The record log is already flushing in the background.");
            _flushing = true;
        }

        return FlushLoop();
    }

    /// <summary>Ends opening: compacts if due, then flushes appends in the background from now on.</summary>
    public void Start()
    {
        bool written = FlushNow();
        if (written && CompactionDue()) Compact();
        lock (_gate)
        {
            _deferred = false;
            if (_pendingCount > 0 && !_flushing) StartFlusher();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task flusher;
        lock (_gate)
        {
            _closed = true;
            flusher = _flusher;
        }

        // The flusher drains every batch appended before the close, so no appender waits forever.
        await flusher.ConfigureAwait(false);
        _handle.Dispose();
    }

    private static TaskCompletionSource NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Encode(Span<byte> destination, Kind kind, ReadOnlySpan<byte> body)
    {
        destination[0] = (byte)kind;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..5], (uint)body.Length);
        body.CopyTo(destination[5..]);
        Checksum(destination[..(5 + body.Length)], destination[(5 + body.Length)..]);
    }

    private static void Checksum(ReadOnlySpan<byte> framed, Span<byte> destination)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(framed, digest);
        digest[..ChecksumSize].CopyTo(destination);
    }

    private static void WriteHeader(Span<byte> destination)
    {
        destination[..HeaderSize].Clear();
        Magic.CopyTo(destination);
        destination[4] = Version;
    }

    private static bool IsKind(byte value) => value is (byte)Kind.Manifest or (byte)Kind.Tombstone or (byte)Kind.Forget;

    private void StartFlusher()
    {
        // Called under _gate; BlockingIo only queues the work, it never calls back into this log.
        _flushing = true;
        _flusher = BlockingIo.RunAsync(() => FlushLoop(), CancellationToken.None);
    }

    private void Replay(Action<Kind, ReadOnlySpan<byte>> replay)
    {
        long size = RandomAccess.GetLength(_handle);
        Span<byte> expected = stackalloc byte[HeaderSize];
        WriteHeader(expected);
        Span<byte> header = stackalloc byte[HeaderSize];
        int read = ReadAt(header, 0);
        if (read < HeaderSize)
        {
            // New, or torn while it was created: entries follow a complete header, so none was ever written.
            if (!header[..read].SequenceEqual(expected[..read]))
                throw new MeshStorageException($"'{_path}' is not a ZenTalk file record log (bad header). Move it away to start an empty index.");
            RandomAccess.Write(_handle, expected, 0);
            RandomAccess.SetLength(_handle, HeaderSize);
            FileSync.Data(_handle);
            FileSync.Directory(_directory);
            _length = HeaderSize;
            return;
        }

        if (!header[..4].SequenceEqual(Magic))
            throw new MeshStorageException($"'{_path}' is not a ZenTalk file record log (bad magic). Move it away to start an empty index.");
        if (header[4] > Version)
            throw new MeshStorageException($"The file record log '{_path}' has version {header[4]}, written by a newer ZenTalk; this version reads up to {Version}. Upgrade ZenTalk.MeshStorage.");
        if (header[4] != Version)
            throw new MeshStorageException($"The file record log '{_path}' has an unknown version {header[4]}.");

        long offset = HeaderSize;
        string? damage = null;
        Span<byte> prefix = stackalloc byte[5];
        Span<byte> checksum = stackalloc byte[ChecksumSize];
        while (offset < size)
        {
            if (size - offset < EntryOverhead)
            {
                damage = "a short entry";
                break;
            }

            ReadAt(prefix, offset);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix[1..]);
            if (!IsKind(prefix[0]) || length > MaxBodySize)
            {
                damage = "an entry with a bad kind or length";
                break;
            }

            if (size - offset - EntryOverhead < length)
            {
                damage = "a short entry";
                break;
            }

            int total = EntryOverhead + (int)length;
            var buffer = ArrayPool<byte>.Shared.Rent(total);
            try
            {
                var entry = buffer.AsSpan(0, total);
                if (ReadAt(entry, offset) < total)
                {
                    damage = "a short entry";
                    break;
                }

                Checksum(entry[..(5 + (int)length)], checksum);
                if (!checksum.SequenceEqual(entry[(5 + (int)length)..]))
                {
                    damage = "an entry with a bad checksum";
                    break;
                }

                replay((Kind)prefix[0], entry.Slice(5, (int)length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            offset += total;
            _entries++;
        }

        if (damage is not null)
        {
            // A crash mid-append (or a damaged disk) leaves the tail unreadable; what precedes it is intact.
            _logger.RecordLogTailCut(_path, damage, offset, size - offset);
            RandomAccess.SetLength(_handle, offset);
            FileSync.Data(_handle);
        }

        _length = offset;
    }

    private int ReadAt(Span<byte> destination, long offset)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = RandomAccess.Read(_handle, destination[total..], offset + total);
            if (n == 0) break;
            total += n;
        }

        return total;
    }

    /// <summary>Writes batches until none is pending; returns whether all of them reached the disk.</summary>
    private bool FlushLoop()
    {
        bool allWritten = true;
        while (true)
        {
            ArrayBufferWriter<byte> batch;
            int count;
            TaskCompletionSource done;
            lock (_gate)
            {
                if (_pendingCount == 0)
                {
                    _flushing = false;
                    return allWritten;
                }

                batch = _pending;
                count = _pendingCount;
                done = _pendingDone;
                _pending = _spare;
                _pendingCount = 0;
                _pendingDone = NewCompletion();
                _inFlightDone = done.Task;
            }

            try
            {
                allWritten &= WriteBatch(batch.WrittenSpan, count);
                batch.ResetWrittenCount();
                _spare = batch.Capacity > KeptBufferCapacity ? new ArrayBufferWriter<byte>() : batch;
                // Appenders need not wait for a compaction: their entries are in the log it replaces.
                done.TrySetResult();
                bool deferred;
                lock (_gate) deferred = _deferred;
                if (!deferred && CompactionDue()) Compact();
            }
#pragma warning disable CA1031 // A bug here must not leave appenders waiting forever or the log half-written.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _broken = true;
                allWritten = false;
                _spare = new ArrayBufferWriter<byte>();
                _logger.RecordLogFailed(e, _path);
                done.TrySetResult();
            }
        }
    }

    private bool WriteBatch(ReadOnlySpan<byte> data, int count)
    {
        if (_broken) return false;
        try
        {
            RandomAccess.Write(_handle, data, _length);
            FileSync.Data(_handle);
            _length += data.Length;
            _entries += count;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _logger.RecordLogAppendFailed(e, count, _path);
            try
            {
                // A partial write would read back as a torn tail and cut off every later append with it.
                RandomAccess.SetLength(_handle, _length);
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                _broken = true;
                _logger.RecordLogCutBackFailed(inner, _path);
            }

            return false;
        }
    }

    private bool CompactionDue()
    {
        long live = _liveCount();
        return _length > CompactionMinBytes && _entries - live > live;
    }

    private void Compact()
    {
        if (_broken) return;
        var live = _liveEntries();
        var temp = _path + ".tmp";
        var before = _length;
        try
        {
            var buffer = new ArrayBufferWriter<byte>();
            WriteHeader(buffer.GetSpan(HeaderSize));
            buffer.Advance(HeaderSize);
            foreach (var entry in live)
            {
                int size = EntryOverhead + entry.Body.Length;
                Encode(buffer.GetSpan(size), entry.Kind, entry.Body);
                buffer.Advance(size);
            }

            using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                RandomAccess.Write(handle, buffer.WrittenSpan, 0);
                FileSync.Data(handle);
            }

            // Closed first: Windows does not rename over an open file.
            _handle.Dispose();
            try
            {
                File.Move(temp, _path, overwrite: true);
                _length = buffer.WrittenCount;
                _entries = live.Count;
            }
            finally
            {
                _handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            }

            FileSync.Directory(_directory);
            _logger.RecordLogCompacted(_path, before, _length, live.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.RecordLogCompactionFailed(e, _path);
            if (_handle.IsClosed)
            {
                _broken = true;
                _logger.RecordLogReopenFailed(_path);
            }

            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // Deleted at the next open.
            }
        }
    }
}
