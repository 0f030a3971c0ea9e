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
/// the closest nodes to the CID, or a holder of the file's shards) and every tombstone. It lets a restarted node
/// serve its manifests again, lets the repair service find the files to check, and lets a holder that was offline
/// during a delete find out, when it is back, which of its shards belong to a deleted file.
/// </summary>
internal sealed class FileIndex
{
    private const string ManifestExtension = ".manifest";
    private const string TombstoneExtension = ".tombstone";

    private readonly string _directory;
    private readonly ShardStore? _shards;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Cid, Entry> _files = new();
    private readonly ConcurrentDictionary<Sha256Hash, byte> _deletedShards = new();

    public FileIndex(string directory, ShardStore? shards, ILogger logger)
    {
        _directory = directory;
        _shards = shards;
        _logger = logger;
        Directory.CreateDirectory(directory);
    }

    public sealed class Entry
    {
        public ValueRecord? ManifestRecord { get; set; }

        public Manifest? Manifest { get; set; }

        public ValueRecord? TombstoneRecord { get; set; }

        public bool Deleted => TombstoneRecord is not null;
    }

    public IEnumerable<KeyValuePair<Cid, Entry>> Files => _files;

    public int Count => _files.Count;

    /// <summary>Whether the shard belongs to a file this node knows to be deleted (so it must not be stored again).</summary>
    public bool IsDeletedShard(Sha256Hash hash) => _deletedShards.ContainsKey(hash);

    /// <summary>Loads the persisted records; returns them so the caller can put them back into the DHT record store.</summary>
    public List<ValueRecord> Load()
    {
        var records = new List<ValueRecord>();
        foreach (var path in Directory.EnumerateFiles(_directory))
        {
            if (!path.EndsWith(ManifestExtension, StringComparison.Ordinal) && !path.EndsWith(TombstoneExtension, StringComparison.Ordinal)) continue;
            try
            {
                var record = ValueRecord.Parser.ParseFrom(File.ReadAllBytes(path));
                FileRecordValidator.Instance.Validate(record);
                Remember(record, persist: false);
                records.Add(record);
            }
            catch (Exception e) when (e is IOException or InvalidProtocolBufferException or MeshStorageException or ArgumentException)
            {
                _logger.LogWarning(e, "Ignoring unreadable file record {Path}", path);
            }
        }

        // Tombstones after manifests, so that a replayed manifest never overrides the deletion.
        records.Sort((a, b) => FileRecords.IsTombstone(a).CompareTo(FileRecords.IsTombstone(b)));
        return records;
    }

    /// <summary>
    /// Takes note of a valid file record this node accepted. A genuine tombstone drops this node's shards of the
    /// file; returns how many were dropped.
    /// </summary>
    public async Task<int> AcceptAsync(ValueRecord record, CancellationToken cancellationToken)
    {
        var entry = Remember(record, persist: true);
        return entry is { Deleted: true } ? await DropShardsAsync(entry, cancellationToken).ConfigureAwait(false) : 0;
    }

    /// <summary>Forgets a file (its manifest expired); its shards expire on their own.</summary>
    public void Forget(Cid cid)
    {
        if (!_files.TryRemove(cid, out _)) return;
        TryDelete(PathOf(cid, ManifestExtension));
        TryDelete(PathOf(cid, TombstoneExtension));
    }

    private Entry? Remember(ValueRecord record, bool persist)
    {
        var cid = Cid.FromDigest(new Sha256Hash(record.Key.Span));
        var entry = _files.GetOrAdd(cid, _ => new Entry());
        lock (entry)
        {
            if (FileRecords.IsManifest(record))
            {
                if (entry.ManifestRecord is not null) return entry;
                var manifest = FileRecords.OpenManifest(record);
                if (entry.TombstoneRecord is { } t && !FileRecords.SameOwner(FileRecords.OpenTombstone(t), manifest))
                {
                    // The tombstone held so far was not the owner's: the manifest wins.
                    entry.TombstoneRecord = null;
                    TryDelete(PathOf(cid, TombstoneExtension));
                }

                entry.ManifestRecord = record;
                entry.Manifest = manifest;
                if (persist) Persist(cid, ManifestExtension, record);
            }
            else
            {
                var tombstone = FileRecords.OpenTombstone(record);
                if (entry.TombstoneRecord is not null) return entry;
                if (entry.Manifest is { } m && !FileRecords.SameOwner(tombstone, m))
                {
                    _logger.LogWarning("Refused a tombstone for {Cid} signed by someone other than its owner", cid);
                    return entry;
                }

                entry.TombstoneRecord = record;
                if (persist) Persist(cid, TombstoneExtension, record);
            }

            if (entry is { Deleted: true, Manifest: { } dead })
            {
                for (int s = 0; s < dead.SegmentCount; s++)
                    for (int j = 0; j < dead.TotalShards; j++)
                        _deletedShards.TryAdd(dead.ShardHash(s, j), 0);
            }

            return entry;
        }
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
                // Only the owner's shards: a shard some other owner also stored is theirs to delete.
                if (_shards.GetInfo(hash) is { } info && info.Metadata.OwnerKeyId == owner
                    && await _shards.DeleteAsync(hash, cancellationToken).ConfigureAwait(false))
                    dropped++;
            }
        }

        if (dropped > 0)
        {
            MeshMetrics.ShardsDropped.Add(dropped);
            _logger.LogInformation("Dropped {Count} shards of deleted file {Cid}", dropped, manifest.Cid);
        }

        return dropped;
    }

    private void Persist(Cid cid, string extension, ValueRecord record)
    {
        var path = PathOf(cid, extension);
        var temp = path + ".tmp";
        try
        {
            File.WriteAllBytes(temp, record.ToByteArray());
            File.Move(temp, path, overwrite: true);
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "Could not persist the file record of {Cid}", cid);
        }
    }

    private string PathOf(Cid cid, string extension) => Path.Combine(_directory, cid + extension);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stale record file is re-validated and harmless.
        }
    }
}
