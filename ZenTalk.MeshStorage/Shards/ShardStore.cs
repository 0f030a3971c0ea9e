using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// A node's local, content-addressed shard store: the key of a shard is the SHA-256 of its bytes. Puts are atomic
/// and durable (see <see cref="ShardFile.WriteAtomicallyAsync"/>), verified before they are accepted; gets verify
/// again and quarantine a shard whose bytes rotted. The index lives in memory and is rebuilt at open from the shard
/// file headers, which hold the metadata, so it is exactly as durable as the shards themselves. Thread-safe.
/// </summary>
internal sealed class ShardStore : IDisposable
{
    private const int StripeCount = 64;

    private readonly ShardStoreOptions _options;
    private readonly string _shards;
    private readonly string _quarantine;
    private readonly ConcurrentDictionary<Sha256Hash, ShardInfo> _index = new();
    private readonly SemaphoreSlim[] _stripes;
    private readonly Lock _quotaLock = new();
    private long _storedBytes;   // guarded by _quotaLock
    private long _reservedBytes; // guarded by _quotaLock
    private long _quarantined;
    private long _collected;

    private ShardStore(ShardStoreOptions options)
    {
        _options = options;
        _shards = Path.Combine(options.Directory, ShardStoreLayout.ShardsDirectory);
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
        await ShardStoreLayout.PrepareAsync(options, cancellationToken).ConfigureAwait(false);
        var store = new ShardStore(options);
        await store.LoadIndexAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    private async Task LoadIndexAsync(CancellationToken cancellationToken)
    {
        var header = new byte[ShardFile.HeaderSize];
        foreach (var dir in System.IO.Directory.EnumerateDirectories(_shards))
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(dir))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = Path.GetFileName(file);
                if (name.StartsWith(ShardFile.TempPrefix, StringComparison.Ordinal))
                {
                    // A put that never reached its rename: never visible, so just remove it.
                    ShardFile.TryDelete(file);
                    continue;
                }

                if (!Sha256Hash.TryParseHex(name, out var hash))
                {
                    continue;
                }

                long fileLength;
                int read;
                var handle = File.OpenHandle(file);
                using (handle)
                {
                    fileLength = RandomAccess.GetLength(handle);
                    read = await RandomAccess.ReadAsync(handle, header, 0, cancellationToken).ConfigureAwait(false);
                }

                if (read < ShardFile.HeaderSize || !ShardFile.TryReadHeader(header, hash, out var info)
                    || info.Length != fileLength - ShardFile.HeaderSize)
                {
                    Quarantine(file, hash, "its header is damaged or its length is wrong");
                    continue;
                }

                _index[hash] = info;
                _storedBytes += info.Length;
            }
        }
    }

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

        var stripe = _stripes[(hash.GetHashCode() & int.MaxValue) % StripeCount];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var path = ShardStoreLayout.ShardPath(_shards, hash);
            var header = new byte[ShardFile.HeaderSize];
            if (_index.TryGetValue(hash, out var existing))
            {
                var merged = Merge(existing.Metadata, metadata);
                if (merged != existing.Metadata)
                {
                    ShardFile.WriteHeader(header, hash, data.Length, existing.StoredAt, merged);
                    await ShardFile.WriteAtomicallyAsync(path, header, data, cancellationToken).ConfigureAwait(false);
                    _index[hash] = existing with { Metadata = merged };
                }

                return false;
            }

            Reserve(data.Length);
            try
            {
                var storedAt = _options.TimeProvider.GetUtcNow();
                ShardFile.WriteHeader(header, hash, data.Length, storedAt, metadata);
                await ShardFile.WriteAtomicallyAsync(path, header, data, cancellationToken).ConfigureAwait(false);
                _index[hash] = new ShardInfo(hash, data.Length, storedAt, metadata);
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

    /// <summary>
    /// Reads a shard and verifies it. Returns null when it is absent or expired, or when its bytes no longer match
    /// its hash — it is then moved to quarantine and forgotten, so the repair loop can fetch a good copy.
    /// </summary>
    public async Task<byte[]?> GetAsync(Sha256Hash hash, CancellationToken cancellationToken = default)
    {
        if (!_index.TryGetValue(hash, out var info) || info.IsExpired(_options.TimeProvider.GetUtcNow()))
        {
            return null;
        }

        var path = ShardStoreLayout.ShardPath(_shards, hash);
        byte[] payload;
        bool valid;
        try
        {
            var handle = File.OpenHandle(path);
            using (handle)
            {
                var length = RandomAccess.GetLength(handle) - ShardFile.HeaderSize;
                if (length != info.Length)
                {
                    payload = [];
                    valid = false;
                }
                else
                {
                    // Every byte is overwritten by the read below, or the array is dropped (a short read is invalid):
                    // no need for the runtime to zero 100 KiB+ first.
                    payload = GC.AllocateUninitializedArray<byte>(checked((int)length));
                    var read = 0;
                    while (read < payload.Length)
                    {
                        var n = await RandomAccess.ReadAsync(handle, payload.AsMemory(read), ShardFile.HeaderSize + read, cancellationToken).ConfigureAwait(false);
                        if (n == 0)
                        {
                            break;
                        }

                        read += n;
                    }

                    valid = read == payload.Length && hash.Matches(payload);
                }
            }
        }
        catch (FileNotFoundException)
        {
            // Deleted concurrently (or from outside): it is gone, so forget it.
            if (_index.TryRemove(new KeyValuePair<Sha256Hash, ShardInfo>(hash, info)))
            {
                Release(info.Length);
            }

            return null;
        }

        if (!valid)
        {
            var stripe = _stripes[(hash.GetHashCode() & int.MaxValue) % StripeCount];
            await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_index.TryRemove(new KeyValuePair<Sha256Hash, ShardInfo>(hash, info)))
                {
                    Release(info.Length);
                    Quarantine(path, hash, "its bytes no longer match its hash");
                }
            }
            finally
            {
                stripe.Release();
            }

            return null;
        }

        return payload;
    }

    private void Quarantine(string path, Sha256Hash hash, string reason)
    {
        Interlocked.Increment(ref _quarantined);
        _options.Logger.LogWarning("Shard {Hash} is quarantined: {Reason}.", hash, reason);
        try
        {
            System.IO.Directory.CreateDirectory(_quarantine);
            var target = Path.Combine(_quarantine, hash + "." + _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
            File.Move(path, target, overwrite: true);
        }
        catch (IOException e)
        {
            _options.Logger.LogWarning(e, "Could not move shard {Hash} to quarantine; deleting it.", hash);
            ShardFile.TryDelete(path);
        }
    }

    /// <summary>Whether the shard is stored and not expired (not re-verified: use <see cref="GetAsync"/> for that).</summary>
    public bool Contains(Sha256Hash hash) =>
        _index.TryGetValue(hash, out var info) && !info.IsExpired(_options.TimeProvider.GetUtcNow());

    /// <summary>The index entry of a shard, or null.</summary>
    public ShardInfo? GetInfo(Sha256Hash hash) => _index.TryGetValue(hash, out var info) ? info : null;

    /// <summary>A snapshot of the index, optionally only the shards of one file.</summary>
    public IReadOnlyList<ShardInfo> List(Cid? cid = null) =>
        _index.Values.Where(i => cid is null || i.Metadata.Cid == cid).OrderBy(i => i.Hash).ToList();

    /// <summary>Removes a shard; false when it was not there.</summary>
    public async Task<bool> DeleteAsync(Sha256Hash hash, CancellationToken cancellationToken = default)
    {
        var stripe = _stripes[(hash.GetHashCode() & int.MaxValue) % StripeCount];
        await stripe.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_index.TryRemove(hash, out var info))
            {
                return false;
            }

            var path = ShardStoreLayout.ShardPath(_shards, hash);
            File.Delete(path);
            DirectorySync.Flush(Path.GetDirectoryName(path)!);
            Release(info.Length);
            return true;
        }
        finally
        {
            stripe.Release();
        }
    }

    /// <summary>Deletes every shard whose expiry has passed (by the store's <see cref="TimeProvider"/>); returns how many.</summary>
    public async Task<int> CollectExpiredAsync(CancellationToken cancellationToken = default)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var removed = 0;
        foreach (var info in _index.Values.Where(i => i.IsExpired(now)).ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Re-check under the delete: a concurrent put may have extended the expiry.
            if (_index.TryGetValue(info.Hash, out var current) && current.IsExpired(now)
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

    public ShardStoreStats GetStats()
    {
        lock (_quotaLock)
        {
            return new ShardStoreStats(_index.Count, _storedBytes, _options.QuotaBytes,
                Interlocked.Read(ref _quarantined), Interlocked.Read(ref _collected));
        }
    }

    public void Dispose()
    {
        foreach (var stripe in _stripes)
        {
            stripe.Dispose();
        }
    }
}
