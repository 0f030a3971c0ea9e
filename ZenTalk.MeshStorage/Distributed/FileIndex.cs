using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The files this node knows about, on disk next to its shards: every manifest record it accepted (it is one of
/// the closest nodes to the CID, or a holder of the file's shards) and every tombstone (which carries the manifest it
/// replaces, so a deleted file keeps only its tombstone; of two tombstones of one file, the one
/// <see cref="FileRecords.CompareTombstones"/> ranks first stays, whichever came first). It lets a restarted node
/// serve its manifests again, lets the repair service find the files to check, and lets a holder that was offline
/// during a delete find out, when it is back, which of its shards belong to a deleted file. The records persist in
/// one append-only log (<see cref="FileRecordLog"/>); every change of the in-memory state appends one entry, under
/// the entry's lock, so the log replays to the same state.
/// </summary>
internal sealed class FileIndex : IAsyncDisposable
{
    // The layout before the log: one file per record, written as <cid><extension>.tmp and renamed.
    private const string ManifestExtension = ".manifest";
    private const string TombstoneExtension = ".tombstone";
    private const string TempExtension = ".tmp";

    private readonly string _directory;
    private readonly ShardStore? _shards;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Cid, Entry> _files = new();
    private readonly ConcurrentDictionary<Sha256Hash, byte> _deletedShards = new();
    private FileRecordLog? _log;
    private int _liveRecords; // manifests + tombstones held: the live entries of the log

    // While loading: tombstones of the first format (without their manifest) met before their manifest.
    private Dictionary<Cid, List<ValueRecord>>? _awaitingManifest;

    public FileIndex(string directory, ShardStore? shards, ILogger logger)
    {
        _directory = directory;
        _shards = shards;
        _logger = logger;
        Directory.CreateDirectory(directory);
    }

    public sealed class Entry
    {
        /// <summary>The manifest record, while the file is live (a tombstone carries the manifest and replaces it).</summary>
        public ValueRecord? ManifestRecord { get; set; }

        /// <summary>The file's manifest: from the manifest record, or from the tombstone once the file is deleted.</summary>
        public Manifest? Manifest { get; set; }

        public ValueRecord? TombstoneRecord { get; set; }

        public bool Deleted => TombstoneRecord is not null;

        /// <summary>Removed from the index by <see cref="Forget(Cid)"/>: a record arriving now belongs to a new entry.</summary>
        internal bool Forgotten { get; set; }
    }

    public IEnumerable<KeyValuePair<Cid, Entry>> Files => _files;

    public int Count => _files.Count;

    /// <summary>Whether the index holds a record of the file.</summary>
    public bool Knows(Cid cid) => _files.ContainsKey(cid);

    /// <summary>The record log's path (tests and tools look at it).</summary>
    internal string LogPath => Path.Combine(_directory, FileRecordLog.FileName);

    /// <summary>Whether the shard belongs to a file this node knows to be deleted (so it must not be stored again).</summary>
    public bool IsDeletedShard(Sha256Hash hash) => _deletedShards.ContainsKey(hash);

    /// <summary>The manifest of <paramref name="cid"/> when this node holds it and no genuine tombstone (a put's authority by reference).</summary>
    public Manifest? LiveManifest(Cid cid) =>
        _files.TryGetValue(cid, out var entry) && !entry.Deleted ? entry.Manifest : null;

    /// <summary>
    /// For each shard that <paramref name="held"/> picks, the owners (key ids) of the live manifests (not deleted, not
    /// expired at <paramref name="now"/>) that list it: what keeps a shard's hold past the grace for unreferenced shards.
    /// </summary>
    public Dictionary<Sha256Hash, List<Sha256Hash>> ReferencedShards(Func<Sha256Hash, bool> held, DateTimeOffset now)
    {
        var referenced = new Dictionary<Sha256Hash, List<Sha256Hash>>();
        foreach (var (_, entry) in _files)
        {
            if (entry is not { Deleted: false, Manifest: { } manifest } || manifest.ExpiresAt <= now) continue;
            var owner = Sha256Hash.Compute(manifest.Owner.SubjectPublicKeyInfo);
            for (int s = 0; s < manifest.SegmentCount; s++)
            {
                for (int j = 0; j < manifest.TotalShards; j++)
                {
                    var hash = manifest.ShardHash(s, j);
                    if (!held(hash)) continue;
                    if (!referenced.TryGetValue(hash, out var owners)) referenced[hash] = owners = [];
                    if (!owners.Contains(owner)) owners.Add(owner);
                }
            }
        }

        return referenced;
    }

    /// <summary>
    /// Loads the persisted records (moving records of the file-per-record layout into the log); returns them so the
    /// caller can put them back into the DHT record store, tombstones after manifests. Call once, before
    /// <see cref="AcceptAsync"/>.
    /// </summary>
    /// <exception cref="MeshStorageException">The log is not a record log or was written by a newer version.</exception>
    public List<ValueRecord> Load()
    {
        if (_log is not null) throw new InvalidOperationException("The file index is already loaded.");
        // An unfinished per-record write, or an unfinished compaction: neither was ever read.
        foreach (var temp in Directory.EnumerateFiles(_directory, "*" + TempExtension)) TryDelete(temp);
        _awaitingManifest = [];
        _log = FileRecordLog.Open(_directory, _logger, () => Volatile.Read(ref _liveRecords), LiveEntries, Replay);
        MigrateRecordFiles(_log);
        if (_awaitingManifest.Count > 0)
            _logger.UnsignedTombstonesIgnored(_awaitingManifest.Count);
        _awaitingManifest = null;
        _log.Start();

        var manifests = new List<ValueRecord>();
        var tombstones = new List<ValueRecord>();
        foreach (var (_, entry) in _files)
        {
            lock (entry)
            {
                if (entry.ManifestRecord is { } m) manifests.Add(m);
                if (entry.TombstoneRecord is { } t) tombstones.Add(t);
            }
        }

        // Tombstones after manifests, so that a replayed manifest never overrides the deletion.
        manifests.AddRange(tombstones);
        return manifests;
    }

    /// <summary>
    /// Takes note of a valid file record this node accepted, and waits until it is on disk. A genuine tombstone
    /// drops this node's shards of the file; returns how many were dropped.
    /// </summary>
    public async Task<int> AcceptAsync(ValueRecord record, CancellationToken cancellationToken)
    {
        var log = _log ?? throw new InvalidOperationException("Load the file index before accepting records.");
        var entry = Remember(record, persist: true, out var appended);
        // A record already held may still be on its way to the disk: wait for everything appended so far.
        await (appended ?? log.WhenDurable()).WaitAsync(cancellationToken).ConfigureAwait(false);
        return entry is { Deleted: true } ? await DropShardsAsync(entry, cancellationToken).ConfigureAwait(false) : 0;
    }

    /// <summary>Forgets a file (its manifest expired); its shards expire on their own.</summary>
    public void Forget(Cid cid) => Forget(cid, persist: true);

    public ValueTask DisposeAsync() => _log?.DisposeAsync() ?? ValueTask.CompletedTask;

    private void Forget(Cid cid, bool persist)
    {
        if (!_files.TryRemove(cid, out var entry)) return;
        lock (entry)
        {
            entry.Forgotten = true;
            Interlocked.Add(ref _liveRecords, -((entry.ManifestRecord is null ? 0 : 1) + (entry.TombstoneRecord is null ? 0 : 1)));
            if (persist && _log is { } log)
            {
                Span<byte> digest = stackalloc byte[Sha256Hash.Size];
                cid.CopyDigestTo(digest);
                // Not awaited: a forget lost in a crash only brings back a record the repair pass forgets again.
                _ = log.Append(FileRecordLog.Kind.Forget, digest);
            }
        }
    }

    private Entry? Remember(ValueRecord record, bool persist, out Task? appended)
    {
        appended = null;
        var cid = Cid.FromDigest(new Sha256Hash(record.Key.Span));
        // A record that would change nothing (republished copies, every holder's STORE_VALUE) costs no verification.
        if (_files.TryGetValue(cid, out var known))
        {
            lock (known)
            {
                if (!known.Forgotten && (FileRecords.IsManifest(record)
                        ? known.TombstoneRecord is not null || known.ManifestRecord is not null
                        : known.TombstoneRecord is { } current && FileRecords.CompareTombstones(record, current) >= 0))
                    return known;
            }
        }

        // Opened (and so verified) before any entry is touched; a tombstone carries the manifest of its file.
        var manifest = FileRecords.IsManifest(record) ? FileRecords.OpenManifest(record) : FileRecords.OpenTombstone(record).Manifest;
        while (true)
        {
            var entry = _files.GetOrAdd(cid, _ => new Entry());
            lock (entry)
            {
                // Forget removed this entry after we found it: the record goes to a fresh one.
                if (entry.Forgotten) continue;
                if (FileRecords.IsManifest(record))
                {
                    // Deleted (the tombstone lists the shards to refuse) or already known: nothing changes.
                    if (entry.TombstoneRecord is not null || entry.ManifestRecord is not null) return entry;
                    entry.ManifestRecord = record;
                    entry.Manifest = manifest;
                    Interlocked.Increment(ref _liveRecords);
                    if (persist) appended = Append(FileRecordLog.Kind.Manifest, record);
                    return entry;
                }

                if (entry.TombstoneRecord is { } held)
                {
                    // Two tombstones of one file (the owner deleted twice): every node keeps the same one.
                    if (FileRecords.CompareTombstones(record, held) >= 0) return entry;
                    entry.TombstoneRecord = record;
                    if (persist) appended = Append(FileRecordLog.Kind.Tombstone, record);
                    return entry;
                }

                if (entry.ManifestRecord is not null)
                {
                    entry.ManifestRecord = null; // The tombstone carries it.
                    Interlocked.Decrement(ref _liveRecords);
                }

                entry.TombstoneRecord = record;
                entry.Manifest = manifest;
                Interlocked.Increment(ref _liveRecords);
                if (persist) appended = Append(FileRecordLog.Kind.Tombstone, record);
                for (int s = 0; s < manifest.SegmentCount; s++)
                    for (int j = 0; j < manifest.TotalShards; j++)
                        _deletedShards.TryAdd(manifest.ShardHash(s, j), 0);
                return entry;
            }
        }
    }

    /// <summary>
    /// Applies a record read back at load time (from the log or from a record file). A tombstone of the first format
    /// is completed with the manifest it deletes, now or when that manifest is read; it then validates only if its
    /// signer owns the file (a tombstone by anyone else lost to the manifest then, and is dropped now).
    /// </summary>
    private void ApplyLoaded(ValueRecord record, bool persist)
    {
        var cid = Cid.FromDigest(new Sha256Hash(record.Key.Span));
        if (FileRecords.LacksManifest(record))
        {
            if (_files.TryGetValue(cid, out var known) && known.Manifest is { } m)
            {
                record = FileRecords.WithManifest(record, m);
            }
            else
            {
                if (!_awaitingManifest!.TryGetValue(cid, out var waiting)) _awaitingManifest[cid] = waiting = [];
                waiting.Add(record);
                return;
            }
        }

        FileRecordValidator.Instance.Validate(record);
        Remember(record, persist, out _);
        if (FileRecords.IsManifest(record) && _awaitingManifest!.Remove(cid, out var pending))
        {
            foreach (var tombstone in pending)
                ApplyLoadedQuietly(FileRecords.WithManifest(tombstone, _files[cid].Manifest!), persist);
        }
    }

    private void ApplyLoadedQuietly(ValueRecord record, bool persist)
    {
        try
        {
            ApplyLoaded(record, persist);
        }
        catch (Exception e) when (e is MeshStorageException or ArgumentException)
        {
            _logger.TombstoneNotSigned(e, Cid.FromDigest(new Sha256Hash(record.Key.Span)));
        }
    }

    private Task Append(FileRecordLog.Kind kind, ValueRecord record)
    {
        var log = _log ?? throw new InvalidOperationException("Load the file index before accepting records.");
        return log.Append(kind, record.ToByteArray());
    }

    /// <summary>Applies one intact log entry; an entry that no longer validates is skipped (and dropped at compaction).</summary>
    private void Replay(FileRecordLog.Kind kind, ReadOnlySpan<byte> body)
    {
        try
        {
            if (kind == FileRecordLog.Kind.Forget)
            {
                if (body.Length != Sha256Hash.Size)
                    throw new ArgumentException($"A forget entry holds a {Sha256Hash.Size}-byte CID digest; got {body.Length} bytes.", nameof(body));
                Forget(Cid.FromDigest(new Sha256Hash(body)), persist: false);
                return;
            }

            var record = ValueRecord.Parser.ParseFrom(body);
            if ((kind == FileRecordLog.Kind.Manifest) != FileRecords.IsManifest(record))
                throw new ArgumentException($"A {kind} entry holds a record named '{record.Name.ToStringUtf8()}'.", nameof(body));
            ApplyLoaded(record, persist: false);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or MeshStorageException or ArgumentException)
        {
            _logger.InvalidRecordLogEntry(e, kind);
        }
    }

    /// <summary>
    /// Folds records of the file-per-record layout into the log, makes them durable, then deletes their files. A
    /// crash in between is harmless: the files are read again and a record already held appends nothing.
    /// </summary>
    private void MigrateRecordFiles(FileRecordLog log)
    {
        var paths = Directory.EnumerateFiles(_directory)
            .Where(p => p.EndsWith(ManifestExtension, StringComparison.Ordinal) || p.EndsWith(TombstoneExtension, StringComparison.Ordinal))
            .ToList();
        if (paths.Count == 0) return;
        foreach (var path in paths)
        {
            try
            {
                var record = ValueRecord.Parser.ParseFrom(File.ReadAllBytes(path));
                ApplyLoaded(record, persist: true);
            }
            catch (Exception e) when (e is IOException or InvalidProtocolBufferException or MeshStorageException or ArgumentException)
            {
                _logger.UnreadableRecordFile(e, path);
            }
        }

        if (!log.FlushNow())
        {
            _logger.RecordFilesKept(paths.Count, _directory);
            return;
        }

        foreach (var path in paths) TryDelete(path);
        _logger.RecordFilesMoved(paths.Count, log.FilePath);
    }

    /// <summary>The live set, for compaction: per CID its manifest, then its tombstone (the order replay needs).</summary>
    private List<FileRecordLog.Entry> LiveEntries()
    {
        var live = new List<FileRecordLog.Entry>();
        foreach (var (_, entry) in _files)
        {
            lock (entry)
            {
                if (entry.Forgotten) continue;
                if (entry.ManifestRecord is { } m) live.Add(new(FileRecordLog.Kind.Manifest, m.ToByteArray()));
                if (entry.TombstoneRecord is { } t) live.Add(new(FileRecordLog.Kind.Tombstone, t.ToByteArray()));
            }
        }

        return live;
    }

    private async Task<int> DropShardsAsync(Entry entry, CancellationToken cancellationToken)
    {
        if (_shards is null || entry.Manifest is not { } manifest) return 0;
        var owner = Sha256Hash.Compute(manifest.Owner.SubjectPublicKeyInfo);
        int dropped = 0;
        for (int s = 0; s < manifest.SegmentCount; s++)
        {
            for (int j = 0; j < manifest.TotalShards; j++)
            {
                var hash = manifest.ShardHash(s, j);
                // Only the owner's hold: a shard some other owner also holds stays for them.
                if (await _shards.ReleaseAsync(hash, owner, cancellationToken).ConfigureAwait(false))
                    dropped++;
            }
        }

        if (dropped > 0)
        {
            MeshMetrics.ShardsDropped.Add(dropped);
            _logger.ShardsOfDeletedFileDropped(dropped, manifest.Cid);
        }

        return dropped;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stale record file is read again at the next load, and appends nothing new.
        }
    }
}
