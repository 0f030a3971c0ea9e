using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// A node's local, content-addressed shard store: the key of a shard is the SHA-256 of its bytes. Shards are
/// records appended to pack files (layout version 4, see <see cref="PackFile"/> and docs/formats.md): a put is one
/// write at a reserved offset and one <c>fdatasync</c> shared with the puts beside it — no file, inode or directory
/// entry per shard. Puts are verified before they are accepted and durable when they return; gets verify again and
/// quarantine a shard whose bytes rotted; a delete marks its record dead in place, and compaction rewrites packs
/// that are mostly dead. The index lives in memory and is rebuilt at open from the record headers, which hold the
/// metadata, so it is exactly as durable as the shards. Thread-safe.
/// </summary>
internal sealed class ShardStore : IDisposable
{
    private const int StripeCount = 64;

    private readonly ShardStoreOptions _options;
    private readonly string _packs;
    private readonly string _quarantine;
    private readonly ConcurrentDictionary<Sha256Hash, Entry> _index = new();
    private readonly ConcurrentDictionary<long, PackFile> _packFiles = new();
    private readonly SemaphoreSlim[] _stripes;
    private readonly Lock _appendLock = new();
    private readonly Lock _quotaLock = new();
    private readonly SemaphoreSlim _compaction = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private PackFile _active = null!; // guarded by _appendLock
    private long _lastPackId;         // guarded by _appendLock (and single-threaded open)
    private long _storedBytes;        // guarded by _quotaLock
    private long _reservedBytes;      // guarded by _quotaLock
    private long _quarantined;
    private long _collected;
    private long _discarded;
    private int _compactionScheduled;

    /// <summary>Where a live shard's record is, and the CRC-32C its payload was written with (null in a version 3 pack).</summary>
    private sealed class Entry(ShardInfo info, PackFile pack, long offset, uint? payloadCrc)
    {
        public ShardInfo Info { get; } = info;

        public PackFile Pack { get; } = pack;

        public long Offset { get; } = offset;

        public uint? PayloadCrc { get; } = payloadCrc;

        public long RecordSize => PackRecord.Size(Pack.Version, Info.Length);

        public long PayloadOffset => Offset + Pack.RecordHeaderSize;

        /// <summary>Whether bytes read back are the ones written (the stored hash was checked when it was put).</summary>
        public bool Matches(ReadOnlySpan<byte> payload) => PackRecord.PayloadMatches(Info, PayloadCrc, payload);
    }

    private ShardStore(ShardStoreOptions options)
    {
        _options = options;
        _packs = Path.Combine(options.Directory, ShardStoreLayout.PacksDirectory);
        _quarantine = Path.Combine(options.Directory, ShardStoreLayout.QuarantineDirectory);
        _stripes = Enumerable.Range(0, StripeCount).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    }

    public string Directory => _options.Directory;

    /// <summary>Opens (creating, migrating or recovering as needed) the store in <see cref="ShardStoreOptions.Directory"/>.</summary>
    /// <exception cref="MeshStorageException">The directory holds a newer or unknown layout, or is not a shard store.</exception>
    public static async Task<ShardStore> OpenAsync(ShardStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Directory, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.QuotaBytes, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PackBytes, 1L << 16, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.PreallocateBytes, nameof(options));
        await ShardStoreLayout.PrepareAsync(options, cancellationToken).ConfigureAwait(false);
        var store = new ShardStore(options);
        try
        {
            await BlockingIo.RunAsync(() => store.Load(cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    // ----- open: rebuild the index from the packs -----

    private void Load(CancellationToken cancellationToken)
    {
        var found = new List<(long Id, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(_packs))
        {
            if (PackFile.TryParseName(Path.GetFileName(path), out var id)) found.Add((id, path));
        }

        found.Sort((a, b) => a.Id.CompareTo(b.Id));
        var marked = new HashSet<PackFile>();
        var buffer = Array.Empty<byte>(); // payloads checked at open; grows to the largest
        foreach (var (id, path) in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _lastPackId = Math.Max(_lastPackId, id);
            var pack = PackFile.Open(path, id);
            if (pack is null)
            {
                SetAsideUnreadablePack(path);
                continue;
            }

            _packFiles[id] = pack;
            Scan(pack, marked, ref buffer, last: id == found[^1].Id);
        }

        foreach (var pack in marked) FileSync.Data(pack.Handle);

        // The newest pack stays the active one while it has room and is of the current version; every other unsealed
        // pack was verified record by record above and is sealed now, so the next open can trust it.
        var newest = found.Count > 0 && _packFiles.TryGetValue(found[^1].Id, out var n) ? n : null;
        foreach (var pack in _packFiles.Values.Where(p => p != newest || p.Sealed || p.End >= _options.PackBytes
            || p.Version != PackRecord.CurrentVersion))
        {
            pack.Rotated = true;
            pack.Seal();
        }

        _active = newest is { Rotated: false } ? newest : CreatePack();
        foreach (var pack in _packFiles.Values.Where(p => p.Rotated && IsAllDead(p)).ToList()) RetirePack(pack);
    }

    private void Scan(PackFile pack, HashSet<PackFile> marked, ref byte[] buffer, bool last)
    {
        var length = RandomAccess.GetLength(pack.Handle);
        var offset = (long)PackFile.FileHeaderSize;
        var end = offset;
        long damagedFrom = -1;
        var resynced = false;
        var zeroTail = false;
        var headerSize = pack.RecordHeaderSize;
        var header = new byte[headerSize];
        while (offset + headerSize <= length)
        {
            if (RandomAccess.Read(pack.Handle, header, offset) < header.Length
                || !PackRecord.TryReadHeader(header, pack.Version, pack.Salt, out var info, out var crc, out var live)
                || offset + headerSize + info.Length > length)
            {
                // The zeros an unsealed pack is written ahead of its appends (ShardStoreOptions.PreallocateBytes): one
                // read over the rest of the file, not a header read every 512 bytes of it.
                if (damagedFrom < 0 && !pack.Sealed && !header.AsSpan().ContainsAnyExcept((byte)0)
                    && ZeroFill.IsZero(pack.Handle, offset, length))
                {
                    zeroTail = true;
                    break;
                }

                // Not a record (a torn or damaged header, or a record cut short): step to the next boundary.
                if (damagedFrom < 0) damagedFrom = offset;
                offset += PackRecord.Alignment;
                continue;
            }

            if (damagedFrom >= 0)
            {
                ReportDamage(pack, damagedFrom, offset, "an unreadable range");
                damagedFrom = -1;
                resynced = true;
            }

            var entry = new Entry(info, pack, offset, crc);
            var size = entry.RecordSize;
            if (!live)
            {
                pack.AddDead(size);
            }
            else if ((!pack.Sealed || resynced) && !PayloadMatches(entry, ref buffer))
            {
                // Unsealed: a put that never finished (its caller was never told it succeeded). Sealed: rot.
                MarkDeadInPlace(pack, offset, marked);
                ReportDamage(pack, offset, offset + size, "a record whose bytes do not match its hash (" + info.Hash + ")");
            }
            else
            {
                AddLoaded(entry, marked);
            }

            offset += size;
            end = offset;
        }

        if (damagedFrom >= 0 || end < length)
        {
            var from = damagedFrom >= 0 ? Math.Min(damagedFrom, end) : end;
            if (!pack.Sealed && (zeroTail || ZeroFill.IsZero(pack.Handle, from, length)))
            {
                // Zeros written ahead of the appends, or appends that never wrote a byte: nothing to report. Cut them
                // off so the pack ends at its last record again.
                RandomAccess.SetLength(pack.Handle, end);
                FileSync.Data(pack.Handle);
                length = end;
            }
            else if (!pack.Sealed && last)
            {
                // The tail of the pack that was being appended to: unfinished puts. Cut it off so appends continue
                // from the last whole record.
                if (from < length)
                {
                    Interlocked.Increment(ref _discarded);
                    _options.Logger.LogInformation("Discarded {Bytes} bytes of unfinished writes at the end of {Pack}.", length - from, pack.Path);
                }

                RandomAccess.SetLength(pack.Handle, end);
                FileSync.Data(pack.Handle);
                length = end;
            }
            else if (damagedFrom >= 0)
            {
                ReportDamage(pack, damagedFrom, length, "an unreadable range at its end");
            }
        }

        pack.End = end;
        pack.Prepared = length;
    }

    private void ReportDamage(PackFile pack, long from, long to, string what)
    {
        pack.AddDead(to - from);
        if (pack.Sealed)
        {
            Interlocked.Increment(ref _quarantined);
            _options.Logger.LogWarning("Pack {Pack} has {What} at bytes {From}..{To}; it is skipped.", pack.Path, what, from, to);
        }
        else
        {
            Interlocked.Increment(ref _discarded);
            _options.Logger.LogInformation("Pack {Pack} has {What} at bytes {From}..{To} (an unfinished write); it is skipped.", pack.Path, what, from, to);
        }
    }

    private static bool PayloadMatches(Entry entry, ref byte[] buffer)
    {
        if (buffer.Length < entry.Info.Length) buffer = new byte[Math.Max(entry.Info.Length, buffer.Length * 2L)];
        var payload = buffer.AsSpan(0, (int)entry.Info.Length);
        var read = 0;
        while (read < payload.Length)
        {
            var n = RandomAccess.Read(entry.Pack.Handle, payload[read..], entry.PayloadOffset + read);
            if (n == 0) return false;
            read += n;
        }

        return entry.Matches(payload);
    }

    private void AddLoaded(Entry entry, HashSet<PackFile> marked)
    {
        // Packs are read oldest first, so a second live record of a hash is the newer one (a metadata update, or a
        // compaction copy whose old record was not yet marked): it wins, and the older one is marked dead.
        if (_index.TryGetValue(entry.Info.Hash, out var older))
        {
            MarkDeadInPlace(older.Pack, older.Offset, marked);
            older.Pack.AddDead(older.RecordSize);
            _storedBytes -= older.Info.Length;
        }

        _index[entry.Info.Hash] = entry;
        _storedBytes += entry.Info.Length;
    }

    private static void MarkDeadInPlace(PackFile pack, long offset, HashSet<PackFile> marked)
    {
        RandomAccess.Write(pack.Handle, [PackRecord.Dead], offset + PackRecord.StateOffset);
        marked.Add(pack);
    }

    private void SetAsideUnreadablePack(string path)
    {
        if (new FileInfo(path).Length <= PackFile.FileHeaderSize)
        {
            // Its creation was interrupted before anything was appended: nothing to lose.
            File.Delete(path);
            return;
        }

        Interlocked.Increment(ref _quarantined);
        System.IO.Directory.CreateDirectory(_quarantine);
        var target = Path.Combine(_quarantine, Path.GetFileName(path) + "." + Stamp());
        _options.Logger.LogWarning("Pack {Pack} has a damaged file header, so its records cannot be checked; it is moved to {Target}.", path, target);
        File.Move(path, target);
    }

    // ----- puts -----

    /// <summary>
    /// Stores a shard under its hash. Returns true when it was added, false when it was already there (its metadata
    /// is then merged: the later expiry wins, and known CID/owner fill unknown ones).
    /// </summary>
    /// <exception cref="IntegrityException">The bytes do not hash to <paramref name="hash"/>; nothing is stored.</exception>
    /// <exception cref="QuotaExceededException">Storing it would exceed the byte quota; nothing is stored.</exception>
    public async Task<bool> PutAsync(Sha256Hash hash, ReadOnlyMemory<byte> data, ShardMetadata metadata, CancellationToken cancellationToken = default)
    {
        if (!hash.Matches(data.Span))
        {
            throw new IntegrityException($"Refused shard {hash}: its bytes hash to {Sha256Hash.Compute(data.Span)}.");
        }

        var stripe = StripeOf(hash);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_index.TryGetValue(hash, out var existing))
            {
                var merged = Merge(existing.Info.Metadata, metadata);
                if (merged != existing.Info.Metadata)
                {
                    // A new record with the merged metadata, then the old one dead: a crash in between leaves two live
                    // records, and the next open keeps the newer.
                    await AppendAsync(existing.Info with { Metadata = merged }, data).ConfigureAwait(false);
                    await MarkDeadAsync(existing).ConfigureAwait(false);
                }

                return false;
            }

            cancellationToken.ThrowIfCancellationRequested();
            Reserve(data.Length);
            try
            {
                var info = new ShardInfo(hash, data.Length, _options.TimeProvider.GetUtcNow(), metadata);
                await AppendAsync(info, data).ConfigureAwait(false);
                Commit(data.Length, stored: true);
            }
            catch
            {
                Commit(data.Length, stored: false);
                throw;
            }

            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>
    /// Appends a record to the active pack, waits until it is durable and points the index at it. Once the write is
    /// issued it is not cancellable: the caller either gets the entry or an I/O error (and then the range is dead).
    /// The index is updated before this append stops counting as one in flight: a pack is sealed (and may then be
    /// compacted) only after its last append ended, so compaction never misses a record the index is about to name.
    /// </summary>
    private async Task<Entry> AppendAsync(ShardInfo info, ReadOnlyMemory<byte> data)
    {
        var size = PackRecord.Size(info.Length);
        PackFile pack;
        long offset;
        lock (_appendLock)
        {
            pack = _active;
            if (pack.End > PackFile.FileHeaderSize && pack.End + size > _options.PackBytes)
            {
                pack = RotateLocked();
            }

            offset = pack.End;
            if (_options.PreallocateBytes > 0 && offset + size > pack.Prepared)
            {
                // Up to PreallocateBytes past this record, within the pack's size (a record larger than a pack
                // gets no more than itself), on a page boundary.
                var limit = Math.Max(_options.PackBytes, offset + size);
                pack.Preallocate(Math.Min(limit, (offset + size + _options.PreallocateBytes + 4095) & ~4095L));
            }

            pack.End += size;
            pack.BeginWrite();
        }

        var header = ArrayPool<byte>.Shared.Rent(PackRecord.HeaderSize);
        try
        {
            var crc = Crc32C.Compute(data.Span);
            PackRecord.WriteHeader(header, pack.Salt, info, crc);
            var padding = (int)(size - PackRecord.HeaderSize - info.Length);
            RandomAccess.Write(pack.Handle,
                [header.AsMemory(0, PackRecord.HeaderSize), data, ZeroFill.Zeros[..padding]], offset);
            await pack.FlushAsync().ConfigureAwait(false);
            var entry = new Entry(info, pack, offset, crc);
            _index[info.Hash] = entry;
            return entry;
        }
        catch
        {
            pack.AddDead(size);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(header);
            if (pack.EndWrite()) await SealAsync(pack).ConfigureAwait(false);
        }
    }

    private PackFile RotateLocked()
    {
        var old = _active;
        _active = CreatePack();
        old.Rotated = true;
        if (old.Writers == 0) old.Seal(); // blocking, once per pack: nothing is left to flush but the flag
        return _active;
    }

    private PackFile CreatePack()
    {
        var pack = PackFile.Create(_packs, ++_lastPackId);
        _packFiles[pack.Id] = pack;
        return pack;
    }

    /// <summary>Seals a rotated pack once its last append is flushed (the last writer does it).</summary>
    private async Task SealAsync(PackFile pack)
    {
        if (!pack.TryAcquire()) return;
        try
        {
            await BlockingIo.RunAsync(pack.Seal, CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // Unsealed only means the next open re-hashes its records.
            _options.Logger.LogWarning(e, "Could not seal pack {Pack}.", pack.Path);
        }
        finally
        {
            pack.Release();
        }
    }

    private static ShardMetadata Merge(ShardMetadata old, ShardMetadata incoming)
    {
        DateTimeOffset? expires = old.ExpiresAt is null || incoming.ExpiresAt is null
            ? null
            : (old.ExpiresAt > incoming.ExpiresAt ? old.ExpiresAt : incoming.ExpiresAt);
        return new ShardMetadata(old.Cid ?? incoming.Cid, old.OwnerKeyId ?? incoming.OwnerKeyId, expires);
    }

    private void Reserve(long bytes)
    {
        lock (_quotaLock)
        {
            if (_storedBytes + _reservedBytes + bytes > _options.QuotaBytes)
            {
                throw new QuotaExceededException(string.Create(CultureInfo.InvariantCulture,
                    $"Storing a {bytes}-byte shard would exceed this node's quota of {_options.QuotaBytes} bytes ({_storedBytes} stored). Free space by deleting or collecting expired shards, or raise the quota."));
            }

            _reservedBytes += bytes;
        }
    }

    private void Commit(long bytes, bool stored)
    {
        lock (_quotaLock)
        {
            _reservedBytes -= bytes;
            if (stored)
            {
                _storedBytes += bytes;
            }
        }
    }

    private void Release(long bytes)
    {
        lock (_quotaLock)
        {
            _storedBytes -= bytes;
        }
    }

    // ----- gets -----

    /// <summary>
    /// Reads a shard and verifies it. Returns null when it is absent or expired, or when its bytes no longer match
    /// its hash — it is then moved to quarantine and forgotten, so the repair loop can fetch a good copy.
    /// </summary>
    public async Task<byte[]?> GetAsync(Sha256Hash hash, CancellationToken cancellationToken = default) =>
        (await ReadVerifiedAsync(hash, pooled: false, cancellationToken).ConfigureAwait(false))?.Buffer;

    /// <summary>
    /// <see cref="GetAsync"/> into an array rented from <see cref="ArrayPool{T}.Shared"/> (longer than the shard:
    /// its first <c>Length</c> bytes are the shard). The caller returns it to the pool when done with it.
    /// </summary>
    public Task<(byte[] Buffer, int Length)?> RentAsync(Sha256Hash hash, CancellationToken cancellationToken = default) =>
        ReadVerifiedAsync(hash, pooled: true, cancellationToken);

    private async Task<(byte[] Buffer, int Length)?> ReadVerifiedAsync(Sha256Hash hash, bool pooled, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!_index.TryGetValue(hash, out var entry) || entry.Info.IsExpired(_options.TimeProvider.GetUtcNow()))
            {
                return null;
            }

            if (!entry.Pack.TryAcquire())
            {
                // Compaction moved it and closed the old pack: look it up again. The same entry with its pack closed
                // means the store itself was closed.
                ObjectDisposedException.ThrowIf(_closing.IsCancellationRequested
                    || (_index.TryGetValue(hash, out var again) && ReferenceEquals(again, entry)), this);
                continue;
            }

            var length = checked((int)entry.Info.Length);
            // Uninitialized: every byte is overwritten by the read, or the array is dropped (a short read is invalid),
            // so the runtime need not zero 100 KiB+ first.
            var buffer = pooled ? ArrayPool<byte>.Shared.Rent(length) : GC.AllocateUninitializedArray<byte>(length);
            bool valid;
            try
            {
                valid = await ReadPayloadAsync(entry, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false)
                    && entry.Matches(buffer.AsSpan(0, length));
            }
            catch
            {
                if (pooled) ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
            finally
            {
                entry.Pack.Release();
            }

            if (valid)
            {
                return (buffer, length);
            }

            try
            {
                var stripe = StripeOf(hash);
                await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (_index.TryRemove(new KeyValuePair<Sha256Hash, Entry>(hash, entry)))
                    {
                        Release(entry.Info.Length);
                        await QuarantineAsync(entry, buffer.AsMemory(0, length), "its bytes no longer match its hash").ConfigureAwait(false);
                    }
                }
                finally
                {
                    stripe.Release();
                }
            }
            finally
            {
                if (pooled) ArrayPool<byte>.Shared.Return(buffer);
            }

            return null;
        }
    }

    /// <summary>Reads a record's payload into <paramref name="destination"/>; false when the pack ends first.</summary>
    private static async ValueTask<bool> ReadPayloadAsync(Entry entry, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < destination.Length)
        {
            var n = await RandomAccess.ReadAsync(entry.Pack.Handle, destination[read..],
                entry.PayloadOffset + read, cancellationToken).ConfigureAwait(false);
            if (n == 0) return false;
            read += n;
        }

        return true;
    }

    private async Task QuarantineAsync(Entry entry, ReadOnlyMemory<byte> payload, string reason)
    {
        Interlocked.Increment(ref _quarantined);
        _options.Logger.LogWarning("Shard {Hash} is quarantined: {Reason}.", entry.Info.Hash, reason);
        try
        {
            // A copy for inspection; the record itself is marked dead so it is never served or loaded again.
            System.IO.Directory.CreateDirectory(_quarantine);
            await File.WriteAllBytesAsync(Path.Combine(_quarantine, entry.Info.Hash + "." + Stamp()), payload).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _options.Logger.LogWarning(e, "Could not copy shard {Hash} to quarantine.", entry.Info.Hash);
        }

        await MarkDeadAsync(entry).ConfigureAwait(false);
    }

    private string Stamp() => _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether the shard is stored and not expired (not re-verified: use <see cref="GetAsync"/> for that).</summary>
    public bool Contains(Sha256Hash hash) =>
        _index.TryGetValue(hash, out var entry) && !entry.Info.IsExpired(_options.TimeProvider.GetUtcNow());

    /// <summary>The index entry of a shard, or null.</summary>
    public ShardInfo? GetInfo(Sha256Hash hash) => _index.TryGetValue(hash, out var entry) ? entry.Info : null;

    /// <summary>A snapshot of the index, optionally only the shards of one file.</summary>
    public IReadOnlyList<ShardInfo> List(Cid? cid = null) =>
        _index.Values.Select(e => e.Info).Where(i => cid is null || i.Metadata.Cid == cid).OrderBy(i => i.Hash).ToList();

    /// <summary>
    /// Where a shard's bytes are on disk: the pack file and the offset of its first payload byte. For tests and
    /// fault injection that damage stored bytes the way a failing disk would.
    /// </summary>
    internal (string Path, long PayloadOffset)? Locate(Sha256Hash hash) =>
        _index.TryGetValue(hash, out var entry) ? (entry.Pack.Path, entry.PayloadOffset) : null;

    // ----- deletes, expiry, compaction -----

    /// <summary>Removes a shard; false when it was not there. Durable when it returns.</summary>
    public async Task<bool> DeleteAsync(Sha256Hash hash, CancellationToken cancellationToken = default)
    {
        var stripe = StripeOf(hash);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_index.TryRemove(hash, out var entry))
            {
                return false;
            }

            Release(entry.Info.Length);
            await MarkDeadAsync(entry).ConfigureAwait(false);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>Marks a record dead on disk and waits until that is durable.</summary>
    private async Task MarkDeadAsync(Entry entry)
    {
        var pack = entry.Pack;
        if (!pack.TryAcquire()) return; // retired: every record in it is already dead
        try
        {
            RandomAccess.Write(pack.Handle, [PackRecord.Dead], entry.Offset + PackRecord.StateOffset);
            await pack.FlushAsync().ConfigureAwait(false);
            pack.AddDead(entry.RecordSize);
        }
        finally
        {
            pack.Release();
        }

        if (pack.Rotated && IsMostlyDead(pack)) ScheduleCompaction();
    }

    /// <summary>Deletes every shard whose expiry has passed (by the store's <see cref="TimeProvider"/>); returns how many.</summary>
    public async Task<int> CollectExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var removed = 0;
        foreach (var info in _index.Values.Select(e => e.Info).Where(i => i.IsExpired(now)).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Re-check under the delete: a concurrent put may have extended the expiry.
            if (_index.TryGetValue(info.Hash, out var current) && current.Info.IsExpired(now)
                && await DeleteAsync(info.Hash, cancellationToken).ConfigureAwait(false))
            {
                removed++;
            }
        }

        Interlocked.Add(ref _collected, removed);
        if (removed > 0)
        {
            _options.Logger.LogInformation("Collected {Count} expired shards.", removed);
        }

        return removed;
    }

    private static long Capacity(PackFile pack) => Math.Max(pack.End - PackFile.FileHeaderSize, 1);

    private static bool IsAllDead(PackFile pack) => pack.DeadBytes >= Capacity(pack);

    private bool IsMostlyDead(PackFile pack) => pack.DeadBytes >= Capacity(pack) * _options.CompactDeadShare;

    private void ScheduleCompaction()
    {
        if (Interlocked.CompareExchange(ref _compactionScheduled, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await CompactAsync(_closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && _closing.IsCancellationRequested)
            {
                // The store closed under it: what was not moved stays where it was, intact.
            }
#pragma warning disable CA1031 // A background compaction that fails leaves dead space, never lost data; it is logged.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _options.Logger.LogWarning(e, "Compacting the shard store in {Directory} failed; it is retried after the next delete.", Directory);
            }
            finally
            {
                Volatile.Write(ref _compactionScheduled, 0);
            }
        });
    }

    /// <summary>
    /// Rewrites every sealed pack whose dead share reached <see cref="ShardStoreOptions.CompactDeadShare"/>: its live
    /// records are appended to the active pack, then the pack is deleted. Runs by itself after deletes; returns how
    /// many packs it removed.
    /// </summary>
    internal async Task<int> CompactAsync(CancellationToken cancellationToken = default)
    {
        await _compaction.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var removed = 0;
            foreach (var pack in _packFiles.Values.Where(p => p.Rotated && p.Sealed && IsMostlyDead(p)).OrderBy(p => p.Id).ToList())
            {
                foreach (var entry in _index.Values.Where(e => e.Pack == pack).ToList())
                {
                    await MoveAsync(entry, cancellationToken).ConfigureAwait(false);
                }

                RetirePack(pack);
                removed++;
            }

            return removed;
        }
        finally
        {
            _compaction.Release();
        }
    }

    /// <summary>
    /// Moves one live record to the active pack. Under the shard's stripe, so no put or delete of it runs in
    /// between: new copy durable (and indexed), then old record dead and durable. A crash at any point leaves exactly
    /// one live record, or two with the newer winning at open.
    /// </summary>
    private async Task MoveAsync(Entry entry, CancellationToken cancellationToken)
    {
        var hash = entry.Info.Hash;
        var stripe = StripeOf(hash);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_index.TryGetValue(hash, out var current) || current != entry || !entry.Pack.TryAcquire()) return;
            var payload = new byte[entry.Info.Length];
            bool whole;
            try
            {
                whole = await ReadPayloadAsync(entry, payload, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                entry.Pack.Release();
            }

            if (!whole || !entry.Matches(payload))
            {
                _index.TryRemove(hash, out _);
                Release(entry.Info.Length);
                await QuarantineAsync(entry, payload, "its bytes no longer match its hash (found by compaction)").ConfigureAwait(false);
                return;
            }

            // The copy is durable and indexed, then the old record is marked dead (both under the stripe, so no delete
            // runs in between).
            await AppendAsync(entry.Info, payload).ConfigureAwait(false);
            await MarkDeadAsync(entry).ConfigureAwait(false);
        }
        finally
        {
            stripe.Release();
        }
    }

    private void RetirePack(PackFile pack)
    {
        if (!_packFiles.TryRemove(pack.Id, out _)) return;
        _options.Logger.LogInformation("Removing pack {Pack}: all of its records are dead.", pack.Path);
        pack.Retire();
    }

    private SemaphoreSlim StripeOf(Sha256Hash hash) => _stripes[(hash.GetHashCode() & int.MaxValue) % StripeCount];

    public ShardStoreStats GetStats()
    {
        lock (_quotaLock)
        {
            return new ShardStoreStats(_index.Count, _storedBytes, _options.QuotaBytes,
                Interlocked.Read(ref _quarantined), Interlocked.Read(ref _collected));
        }
    }

    /// <summary>Pack files and their dead bytes (tests, diagnostics).</summary>
    internal IReadOnlyList<(string Path, long Length, long DeadBytes, bool Sealed)> GetPacks() =>
        _packFiles.Values.OrderBy(p => p.Id).Select(p => (p.Path, p.End, p.DeadBytes, p.Sealed)).ToList();

    /// <summary>Ranges dropped at open because a put never finished (not damage: nobody was told they succeeded).</summary>
    internal long DiscardedAtOpen => Interlocked.Read(ref _discarded);

    public void Dispose()
    {
        _closing.Cancel();
        foreach (var pack in _packFiles.Values)
        {
            pack.Release();
        }

        _packFiles.Clear();
        foreach (var stripe in _stripes)
        {
            stripe.Dispose();
        }
    }
}
