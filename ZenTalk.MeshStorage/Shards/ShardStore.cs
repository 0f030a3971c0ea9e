using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// A node's local, content-addressed shard store: the key of a shard is the SHA-256 of its bytes. Shards are
/// records appended to pack files (layout version 1, see <see cref="PackFile"/> and docs/formats.md): a put is one
/// write at a reserved offset and one <c>fdatasync</c> shared with the puts beside it — no file, inode or directory
/// entry per shard. Puts are verified before they are accepted and durable when they return; gets verify again and
/// quarantine a shard whose bytes rotted; a delete marks its record dead in place, and compaction rewrites packs
/// that are mostly dead. The index lives in memory and is rebuilt at open from the record headers, which hold the
/// metadata, so it is exactly as durable as the shards. Thread-safe.
/// <para>
/// A shard is kept for its holds (<see cref="ShardHold"/>): one per owner whose signed authority the node accepted it
/// under, each with the expiry that owner signed. The store drops a hold when it expires, when its owner deletes it, or
/// (<see cref="CollectUnreferencedAsync"/>) when no live manifest references it a grace period after it was taken, and
/// drops the shard with its last hold. It accounts every hold's bytes to its owner, its sender and the sender's
/// address prefix, and refuses a put that would pass the node's quota or one of those limits
/// (<see cref="ShardAccounting"/>).
/// </para>
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
    private readonly ShardAccounting _accounting;
    private readonly CancellationTokenSource _closing = new();
    private PackFile _active = null!; // guarded by _appendLock
    private long _lastPackId;         // guarded by _appendLock (and single-threaded open)
    private long _storedBytes;        // guarded by _quotaLock
    private long _reservedBytes;      // guarded by _quotaLock
    private long _quarantined;
    private long _collected;
    private long _discarded;
    private int _compactionScheduled;

    /// <summary>Where a live shard's record is, and the CRC-32C its payload was written with.</summary>
    private sealed class Entry(ShardInfo info, PackFile pack, long offset, int headerSize, uint payloadCrc)
    {
        public ShardInfo Info { get; } = info;

        public PackFile Pack { get; } = pack;

        public long Offset { get; } = offset;

        public uint PayloadCrc { get; } = payloadCrc;

        public long RecordSize => PackRecord.Align(headerSize + Info.Length);

        public long PayloadOffset => Offset + headerSize;

        /// <summary>Whether bytes read back are the ones written (the stored hash was checked when it was put).</summary>
        public bool Matches(ReadOnlySpan<byte> payload) => PackRecord.PayloadMatches(Info, PayloadCrc, payload);
    }

    private ShardStore(ShardStoreOptions options)
    {
        _options = options;
        _packs = Path.Combine(options.Directory, ShardStoreLayout.PacksDirectory);
        _quarantine = Path.Combine(options.Directory, ShardStoreLayout.QuarantineDirectory);
        _stripes = Enumerable.Range(0, StripeCount).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        _accounting = new ShardAccounting(options);
    }

    public string Directory => _options.Directory;

    /// <summary>Opens (creating, upgrading or recovering as needed) the store in <see cref="ShardStoreOptions.Directory"/>.</summary>
    /// <exception cref="MeshStorageException">The directory holds a newer or unknown layout, or is not a shard store.</exception>
    public static async Task<ShardStore> OpenAsync(ShardStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Directory, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.QuotaBytes, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.OwnerLimit, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.SenderLimit, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.PrefixLimit, nameof(options));
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

        // The newest pack stays the active one while it has room; every other unsealed pack was verified record by
        // record above and is sealed now, so the next open can trust it.
        var newest = found.Count > 0 && _packFiles.TryGetValue(found[^1].Id, out var n) ? n : null;
        foreach (var pack in _packFiles.Values.Where(p => p != newest || p.Sealed || p.End >= _options.PackBytes))
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
        var minHeaderSize = PackRecord.HeaderSizeOf(holds: 1);
        var header = new byte[PackRecord.MaxHeaderSize];
        while (offset + minHeaderSize <= length)
        {
            var read = RandomAccess.Read(pack.Handle, header.AsSpan(0, (int)Math.Min(header.Length, length - offset)), offset);
            if (!PackRecord.TryReadHeader(header.AsSpan(0, read), pack.Salt, out var info, out var crc, out var live, out var headerSize)
                || offset + headerSize + info.Length > length)
            {
                // The zeros an unsealed pack is written ahead of its appends (ShardStoreOptions.PreallocateBytes): one
                // read over the rest of the file, not a header read every 512 bytes of it.
                if (damagedFrom < 0 && !pack.Sealed && !header.AsSpan(0, read).ContainsAnyExcept((byte)0)
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

            var entry = new Entry(info, pack, offset, headerSize, crc);
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
                    _options.Logger.UnfinishedWritesDiscarded(length - from, pack.Path);
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
            _options.Logger.PackDamaged(pack.Path, what, from, to);
        }
        else
        {
            Interlocked.Increment(ref _discarded);
            _options.Logger.PackUnfinished(pack.Path, what, from, to);
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
            foreach (var hold in older.Info.Holds) _accounting.Remove(hold, older.Info.Length);
        }

        _index[entry.Info.Hash] = entry;
        _storedBytes += entry.Info.Length;
        foreach (var hold in entry.Info.Holds) _accounting.Add(hold, entry.Info.Length);
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
        _options.Logger.PackHeaderDamaged(path, target);
        File.Move(path, target);
    }

    // ----- puts -----

    /// <summary>
    /// Stores a shard under its hash for <paramref name="hold"/>'s owner. Returns true when the shard was added, false
    /// when it was already there: the hold is then added to its holds, or, when that owner already holds it, that hold
    /// takes the later expiry and grant time (the same owner signed both). A hold of another owner is never changed.
    /// </summary>
    /// <exception cref="IntegrityException">The bytes do not hash to <paramref name="hash"/>; nothing is stored.</exception>
    /// <exception cref="QuotaExceededException">Storing it would pass the node's quota or a limit of the owner, sender or
    /// sender prefix, or the shard has as many holds as a record keeps; nothing is stored.</exception>
    public async Task<bool> PutAsync(Sha256Hash hash, ReadOnlyMemory<byte> data, ShardHold hold, CancellationToken cancellationToken = default)
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
                await AddHoldAsync(existing, hold, data).ConfigureAwait(false);
                return false;
            }

            cancellationToken.ThrowIfCancellationRequested();
            Reserve(data.Length, hold, newShard: true);
            try
            {
                var info = new ShardInfo(hash, data.Length, _options.TimeProvider.GetUtcNow(), [hold]);
                await AppendAsync(info, data).ConfigureAwait(false);
                Commit(data.Length);
            }
            catch
            {
                Unreserve(data.Length, hold, newShard: true);
                throw;
            }

            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>Adds or renews one hold of a stored shard (under its stripe).</summary>
    private async Task AddHoldAsync(Entry existing, ShardHold hold, ReadOnlyMemory<byte> data)
    {
        var holds = existing.Info.Holds;
        var index = holds.Length - 1;
        while (index >= 0 && holds[index].Owner != hold.Owner) index--;
        if (index >= 0)
        {
            var renewed = holds[index].Renew(hold);
            if (renewed == holds[index]) return;
            // A new record with the renewed hold, then the old one dead: a crash in between leaves two live records,
            // and the next open keeps the newer. The accounting stays with the hold's first sender.
            await ReplaceAsync(existing, holds.SetItem(index, renewed), data).ConfigureAwait(false);
            return;
        }

        if (holds.Length >= PackRecord.MaxHolds)
            throw new QuotaExceededException($"Shard {existing.Info.Hash} already has the {PackRecord.MaxHolds} holds (owners) a node keeps for one shard; store it on another node.");
        Reserve(existing.Info.Length, hold, newShard: false);
        try
        {
            await ReplaceAsync(existing, holds.Add(hold), data).ConfigureAwait(false);
        }
        catch
        {
            Unreserve(existing.Info.Length, hold, newShard: false);
            throw;
        }
    }

    /// <summary>Rewrites a shard's record with other holds: new record durable, then the old one dead.</summary>
    private async Task ReplaceAsync(Entry existing, ImmutableArray<ShardHold> holds, ReadOnlyMemory<byte> data)
    {
        await AppendAsync(existing.Info with { Holds = holds }, data).ConfigureAwait(false);
        await MarkDeadAsync(existing).ConfigureAwait(false);
    }

    /// <summary>
    /// Appends a record to the active pack, waits until it is durable and points the index at it. Once the write is
    /// issued it is not cancellable: the caller either gets the entry or an I/O error (and then the range is dead).
    /// The index is updated before this append stops counting as one in flight: a pack is sealed (and may then be
    /// compacted) only after its last append ended, so compaction never misses a record the index is about to name.
    /// </summary>
    private async Task<Entry> AppendAsync(ShardInfo info, ReadOnlyMemory<byte> data)
    {
        var size = PackRecord.Size(info);
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

        var header = ArrayPool<byte>.Shared.Rent(PackRecord.MaxHeaderSize);
        try
        {
            var crc = Crc32C.Compute(data.Span);
            var headerSize = PackRecord.WriteHeader(header, pack.Salt, info, crc);
            var padding = (int)(size - headerSize - info.Length);
            RandomAccess.Write(pack.Handle,
                [header.AsMemory(0, headerSize), data, ZeroFill.Zeros[..padding]], offset);
            await pack.FlushAsync().ConfigureAwait(false);
            var entry = new Entry(info, pack, offset, headerSize, crc);
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
            _options.Logger.SealFailed(e, pack.Path);
        }
        finally
        {
            pack.Release();
        }
    }

    private void Reserve(long bytes, ShardHold hold, bool newShard)
    {
        lock (_quotaLock)
        {
            if (newShard && _storedBytes + _reservedBytes + bytes > _options.QuotaBytes)
            {
                throw new QuotaExceededException(string.Create(CultureInfo.InvariantCulture,
                    $"Storing a {bytes}-byte shard would exceed this node's quota of {_options.QuotaBytes} bytes ({_storedBytes} stored). Free space by deleting or collecting expired shards, or raise the quota."));
            }

            if (_accounting.Exceeds(hold, bytes) is { } reason) throw new QuotaExceededException(reason);
            if (newShard) _reservedBytes += bytes;
            _accounting.Add(hold, bytes);
        }
    }

    private void Unreserve(long bytes, ShardHold hold, bool newShard)
    {
        lock (_quotaLock)
        {
            if (newShard) _reservedBytes -= bytes;
            _accounting.Remove(hold, bytes);
        }
    }

    private void Commit(long bytes)
    {
        lock (_quotaLock)
        {
            _reservedBytes -= bytes;
            _storedBytes += bytes;
        }
    }

    /// <summary>Takes a removed shard (all its holds) out of the totals.</summary>
    private void Unaccount(ShardInfo info)
    {
        lock (_quotaLock)
        {
            _storedBytes -= info.Length;
            foreach (var hold in info.Holds) _accounting.Remove(hold, info.Length);
        }
    }

    /// <summary>Takes dropped holds of a shard that stays out of the totals.</summary>
    private void Unaccount(IEnumerable<ShardHold> holds, long length)
    {
        lock (_quotaLock)
        {
            foreach (var hold in holds) _accounting.Remove(hold, length);
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
                        Unaccount(entry.Info);
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
        _options.Logger.ShardQuarantined(entry.Info.Hash, reason);
        try
        {
            // A copy for inspection; the record itself is marked dead so it is never served or loaded again.
            System.IO.Directory.CreateDirectory(_quarantine);
            await File.WriteAllBytesAsync(Path.Combine(_quarantine, entry.Info.Hash + "." + Stamp()), payload).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            _options.Logger.QuarantineCopyFailed(e, entry.Info.Hash);
        }

        await MarkDeadAsync(entry).ConfigureAwait(false);
    }

    private string Stamp() => _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether the shard is stored and not expired (not re-verified: use <see cref="GetAsync"/> for that).</summary>
    public bool Contains(Sha256Hash hash) =>
        _index.TryGetValue(hash, out var entry) && !entry.Info.IsExpired(_options.TimeProvider.GetUtcNow());

    /// <summary>The index entry of a shard, or null.</summary>
    public ShardInfo? GetInfo(Sha256Hash hash) => _index.TryGetValue(hash, out var entry) ? entry.Info : null;

    /// <summary>A snapshot of the index.</summary>
    public IReadOnlyList<ShardInfo> List() => _index.Values.Select(e => e.Info).OrderBy(i => i.Hash).ToList();

    /// <summary>
    /// Where a shard's bytes are on disk: the pack file and the offset of its first payload byte. For tests and
    /// fault injection that damage stored bytes the way a failing disk would.
    /// </summary>
    internal (string Path, long PayloadOffset)? Locate(Sha256Hash hash) =>
        _index.TryGetValue(hash, out var entry) ? (entry.Pack.Path, entry.PayloadOffset) : null;

    // ----- deletes, expiry, compaction -----

    /// <summary>Removes a shard with all its holds; false when it was not there. Durable when it returns.</summary>
    public async Task<bool> DeleteAsync(Sha256Hash hash, CancellationToken cancellationToken = default) =>
        await DropHoldsAsync(hash, static (_, _) => true, cancellationToken).ConfigureAwait(false) > 0;

    /// <summary>
    /// Drops <paramref name="owner"/>'s hold on a shard, and the shard with it when no other owner holds it; false when
    /// that owner held none. Durable when it returns.
    /// </summary>
    public async Task<bool> ReleaseAsync(Sha256Hash hash, Sha256Hash owner, CancellationToken cancellationToken = default) =>
        await DropHoldsAsync(hash, (hold, _) => hold.Owner == owner, cancellationToken).ConfigureAwait(false) > 0;

    /// <summary>
    /// Drops the holds of a shard that <paramref name="drop"/> picks (it is asked under the shard's lock, with the
    /// store's clock): the shard goes when none is left, else its record is rewritten with the others. Returns how
    /// many holds were dropped. Durable when it returns.
    /// </summary>
    private async Task<int> DropHoldsAsync(Sha256Hash hash, Func<ShardHold, DateTimeOffset, bool> drop, CancellationToken cancellationToken)
    {
        var stripe = StripeOf(hash);
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_index.TryGetValue(hash, out var entry))
            {
                return 0;
            }

            var now = _options.TimeProvider.GetUtcNow();
            var holds = entry.Info.Holds;
            var kept = holds.RemoveAll(h => drop(h, now));
            if (kept.Length == holds.Length)
            {
                return 0;
            }

            if (kept.IsEmpty)
            {
                _index.TryRemove(hash, out _);
                Unaccount(entry.Info);
                await MarkDeadAsync(entry).ConfigureAwait(false);
                return holds.Length;
            }

            // The payload goes with the new record: read it back (and check it) first.
            var payload = new byte[entry.Info.Length];
            // Under the stripe no compaction moves it: its pack is open unless the store is closing.
            ObjectDisposedException.ThrowIf(!entry.Pack.TryAcquire(), this);
            bool whole;
            try
            {
                whole = await ReadPayloadAsync(entry, payload, cancellationToken).ConfigureAwait(false) && entry.Matches(payload);
            }
            finally
            {
                entry.Pack.Release();
            }

            if (!whole)
            {
                _index.TryRemove(hash, out _);
                Unaccount(entry.Info);
                await QuarantineAsync(entry, payload, "its bytes no longer match its hash (found when dropping a hold)").ConfigureAwait(false);
                return holds.Length;
            }

            await ReplaceAsync(entry, kept, payload).ConfigureAwait(false);
            Unaccount(holds.Where(h => !kept.Contains(h)), entry.Info.Length);
            return holds.Length - kept.Length;
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

    /// <summary>
    /// Drops every hold whose expiry has passed (by the store's <see cref="TimeProvider"/>), and every shard left with
    /// none; returns how many shards were removed.
    /// </summary>
    public Task<int> CollectExpiredAsync(CancellationToken cancellationToken = default) =>
        CollectAsync(static (_, hold, now) => hold.IsExpired(now), "expired", cancellationToken);

    /// <summary>
    /// Drops every hold taken more than <paramref name="grace"/> ago that no live manifest references:
    /// <paramref name="referenced"/> says whether one (known to the caller) lists the shard's hash under the hold's
    /// owner. Returns how many shards were removed (their last hold gone).
    /// </summary>
    public Task<int> CollectUnreferencedAsync(Func<Sha256Hash, Sha256Hash, bool> referenced, TimeSpan grace, CancellationToken cancellationToken = default) =>
        CollectAsync((hash, hold, now) => hold.GrantedAt + grace <= now && !referenced(hash, hold.Owner), "unreferenced", cancellationToken);

    private async Task<int> CollectAsync(Func<Sha256Hash, ShardHold, DateTimeOffset, bool> drop, string why, CancellationToken cancellationToken)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var removed = 0;
        var dropped = 0;
        foreach (var info in _index.Values.Select(e => e.Info).Where(i => i.Holds.Any(h => drop(i.Hash, h, now))).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Decided again under the shard's lock: a concurrent put may have renewed a hold.
            var hash = info.Hash;
            var count = await DropHoldsAsync(hash, (hold, at) => drop(hash, hold, at), cancellationToken).ConfigureAwait(false);
            dropped += count;
            if (count > 0 && !_index.ContainsKey(hash)) removed++;
        }

        Interlocked.Add(ref _collected, removed);
        if (dropped > 0)
        {
            _options.Logger.HoldsDropped(dropped, why, removed);
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
                _options.Logger.CompactionFailed(e, Directory);
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
                Unaccount(entry.Info);
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
        _options.Logger.PackRetired(pack.Path);
        pack.Retire();
    }

    private SemaphoreSlim StripeOf(Sha256Hash hash) => _stripes[(hash.GetHashCode() & int.MaxValue) % StripeCount];

    /// <summary>Payload bytes the holds of one owner key account for.</summary>
    public long BytesHeldFor(Sha256Hash owner)
    {
        lock (_quotaLock) return _accounting.OwnerBytes(owner);
    }

    /// <summary>Payload bytes the holds one peer sent account for.</summary>
    public long BytesSentBy(NodeId sender)
    {
        lock (_quotaLock) return _accounting.SenderBytes(sender);
    }

    /// <summary>Payload bytes the holds sent from one address prefix account for.</summary>
    public long BytesSentFrom(UInt128 prefix)
    {
        lock (_quotaLock) return _accounting.PrefixBytes(prefix);
    }

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
