using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// <see cref="IMeshStore"/> over the DHT and the shard RPCs: encrypt → erasure-code → place each segment's shards
/// on the nodes closest to its key → publish the signed manifest at the nodes closest to the CID (and at every
/// holder, so holders know which file their shards belong to). Reads find the manifest by CID and fetch any k
/// valid shards per segment. Nothing a reader needs lives only in this process.
/// </summary>
internal sealed class MeshStore : IMeshStore
{
    private static readonly RetrieveOptions DefaultRead = new();

    private readonly DhtNode _dht;
    private readonly ShardClient _client;
    private readonly Placement _placement;
    private readonly DistributedOptions _options;
    private readonly ILogger _logger;
    private readonly Func<long> _storedShards;
    private readonly Func<long> _storedBytes;
    private readonly DecodeMemory _decodeMemory;
    private readonly StoreDelegationCache _delegations;

    public MeshStore(DhtNode dht, ShardClient client, Placement placement, DistributedOptions options, ILogger logger,
        Func<long> storedShards, Func<long> storedBytes)
    {
        _dht = dht;
        _client = client;
        _placement = placement;
        _options = options;
        _logger = logger;
        _storedShards = storedShards;
        _storedBytes = storedBytes;
        _decodeMemory = new DecodeMemory(options.MaxDecodeMemoryBytes);
        _delegations = new StoreDelegationCache(dht.Self.Id, options.TimeProvider);
    }

    internal ShardClient Client => _client;

    /// <summary>What this node's reads and repairs may hold in segment buffers at once.</summary>
    internal IMemoryBudget DecodeMemory => _decodeMemory;

    internal DistributedOptions Options => _options;

    internal Placement Placement => _placement;

    public async Task<StoredFile> StoreAsync(Stream content, OwnerKey owner, StoreOptions? options = null,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(owner);
        if (!content.CanRead) throw new ArgumentException("The content stream is not readable.", nameof(content));
        int n = _options.DataShards + _options.ParityShards;
        int happy = options?.MinimumShardsPerSegment ?? Math.Min(_options.DataShards + 1, n);
        if (happy < _options.DataShards || happy > n)
            throw new ArgumentOutOfRangeException(nameof(options), happy, $"MinimumShardsPerSegment must be between {_options.DataShards} (data shards) and {n} (all shards).");
        var expires = options?.ExpiresAt;
        if (expires is { } e && e <= _options.TimeProvider.GetUtcNow())
            throw new ArgumentOutOfRangeException(nameof(options), e, "ExpiresAt is in the past.");
        var codec = new FileCodecOptions
        {
            SegmentSize = options?.SegmentSize ?? _options.SegmentSize,
            DataShards = _options.DataShards,
            ParityShards = _options.ParityShards,
            ExpiresAt = expires,
            TimeProvider = _options.TimeProvider,
        };
        var encoder = new FileEncoder(codec);
        using var activity = MeshMetrics.Activities.StartActivity("mesh.store");
        long? total = content.CanSeek ? content.Length - content.Position : null;
        var counting = new CountingReadStream(content);
        var key = ContentKey.Generate();
        // A file of one segment (most attachments): its shard puts carry the manifest, so its holders need no
        // STORE_VALUE round of their own (StorePlacementSink).
        var sink = new StorePlacementSink(_client, _placement, owner, _delegations, expires?.ToUnixTimeMilliseconds() ?? 0, happy,
            codec.SegmentSize, _options.SegmentsInFlight, () => counting.BytesRead, progress, total, _options.TimeProvider, cancellationToken);
        await using (sink.ConfigureAwait(false))
        {
            Manifest? manifest = null;
            Task<(int Accepted, List<PeerContact> Carried)>? atClosest = null;
            Task<int>? atHolders = null;
            var published = new List<PeerContact>();
            try
            {
                manifest = await encoder.EncodeAsync(counting, key, owner, sink, cancellationToken).ConfigureAwait(false);
                // The manifest is signed: publish it at the nodes closest to the CID while the last shards are still
                // being placed (a store that then fails replaces it with a tombstone, below).
                var record = FileRecords.ForManifest(manifest);
                // One wide lookup of the CID serves the publication and, for a one-segment file, its placement: it decides
                // where. Neither waits for it to send: the nodes this node's routing table names as closest (among those
                // with no recent failure) get their messages at once, and any the lookup adds get theirs when it is done
                // (with a warm table there are none).
                var cidKey = FileRecords.KeyOf(manifest.Cid);
                var byTable = _placement.LocalClosestAnswering(cidKey);
                var byLookup = _placement.ClosestAsync(cidKey, cancellationToken);
                sink.SetRecord(record, byTable, byLookup);
                // The first k + m places of a one-segment file get the record with their shard.
                var early = byTable.Skip(manifest.SegmentCount == 1 ? manifest.TotalShards : 0).ToList();
                atClosest = PublishAsync(record, early, byLookup, published, sink.RecordTargets, cancellationToken);
                // Holders get the manifest too: it tells them which file their shards belong to (deletion, expiry).
                // Those of the segments placed so far get it beside the last segments' puts, not after them.
                atHolders = PublishToHoldersAsync(record, byLookup, sink, published, cancellationToken);
                await sink.CompleteAsync().ConfigureAwait(false);
                var (accepted, carried) = await atClosest.ConfigureAwait(false);
                accepted += sink.RecordHolderCount + await atHolders.ConfigureAwait(false);
                // The rest: holders of the last segments, and the closest nodes whose put was to carry it and failed.
                List<PeerContact> holders;
                lock (published)
                {
                    holders = sink.Holders.Concat(carried).DistinctBy(h => h.Id)
                        .Where(h => !sink.HoldsRecord(h.Id) && !published.Exists(p => p.Id == h.Id)).ToList();
                    published.AddRange(holders);
                }

                var fromHolders = await Task.WhenAll(holders.Select(t => _client.StoreRecordAsync(t, record, cancellationToken))).ConfigureAwait(false);
                accepted += fromHolders.Count(a => a);
                if (accepted == 0)
                    throw new ShardsUnavailableException($"No node accepted the manifest of {manifest.Cid}; the file would be unreachable. Nothing was kept.")
                    {
                        Cid = manifest.Cid,
                    };
            }
            catch (Exception ex)
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                // Settled: the clean-up must see every node they reached.
                if (atClosest is not null) await Task.WhenAny(atClosest).ConfigureAwait(false);
                if (atHolders is not null) await Task.WhenAny(atHolders).ConfigureAwait(false);
                published.AddRange(sink.RecordSentTo.Where(r => !published.Exists(p => p.Id == r.Id)));
                if (manifest is not null) await WithdrawAsync(manifest, owner, published).ConfigureAwait(false);
                await CleanUpAsync(sink.Placed, owner).ConfigureAwait(false);
                // A failed segment cancels the encoder; report the segment's failure, not the cancellation.
                if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested && sink.Failure is { } cause)
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
                throw;
            }

            MeshMetrics.FilesStored.Add(1);
            activity?.SetTag("zentalk.cid", manifest.Cid.ToString());
            activity?.SetTag("zentalk.size", manifest.PlaintextSize);
            _logger.Stored(manifest.Cid, manifest.PlaintextSize, manifest.SegmentCount);
            return new StoredFile { Cid = manifest.Cid, ContentKey = key, Size = manifest.PlaintextSize };
        }
    }

    /// <summary>
    /// Sends the record to <paramref name="early"/> at once, then to the nodes closest to its key
    /// (<paramref name="closestToKey"/>, a wide lookup) that did not have it yet, except those whose shard puts carry it
    /// (<paramref name="carriedByPuts"/>); adds each node it sends to <paramref name="sentTo"/> before the call (so a
    /// clean-up reaches it). Returns how many of the lookup's nodes accepted, and the closest nodes left to the puts. An
    /// early call to a node the lookup did not name is not waited for: the node may be down (its call runs out on its own).
    /// </summary>
    private async Task<(int Accepted, List<PeerContact> Carried)> PublishAsync(ValueRecord record, List<PeerContact> early,
        Task<List<PeerContact>> closestToKey, List<PeerContact> sentTo, Task<IReadOnlyList<PeerContact>> carriedByPuts, CancellationToken cancellationToken)
    {
        lock (sentTo) sentTo.AddRange(early);
        var earlyCalls = early.DistinctBy(e => e.Id).ToDictionary(e => e.Id, e => _client.StoreRecordAsync(e, record, cancellationToken));
        var closest = await closestToKey.ConfigureAwait(false);
        var carriers = (await carriedByPuts.ConfigureAwait(false)).Select(c => c.Id).ToHashSet();
        var targets = closest.Where(c => !carriers.Contains(c.Id)).ToList();
        lock (sentTo) sentTo.AddRange(targets.Where(c => !earlyCalls.ContainsKey(c.Id)));
        var accepted = await Task.WhenAll(targets.Select(t => earlyCalls.TryGetValue(t.Id, out var call) ? call : _client.StoreRecordAsync(t, record, cancellationToken)))
            .ConfigureAwait(false);
        return (accepted.Count(a => a), closest.Where(c => carriers.Contains(c.Id)).ToList());
    }

    /// <summary>
    /// Sends the record to the nodes that hold shards of the file so far, except the closest nodes to its key (which
    /// <see cref="PublishAsync"/> or their puts serve) and those whose put carried it; adds each to <paramref name="sentTo"/>
    /// before the call. Returns how many accepted.
    /// </summary>
    private async Task<int> PublishToHoldersAsync(ValueRecord record, Task<List<PeerContact>> closestToKey, StorePlacementSink sink,
        List<PeerContact> sentTo, CancellationToken cancellationToken)
    {
        var closest = (await closestToKey.ConfigureAwait(false)).Select(c => c.Id).ToHashSet();
        List<PeerContact> now;
        lock (sentTo)
        {
            now = sink.Holders.Where(h => !closest.Contains(h.Id) && !sink.HoldsRecord(h.Id) && !sentTo.Exists(p => p.Id == h.Id)).ToList();
            sentTo.AddRange(now);
        }

        var accepted = await Task.WhenAll(now.Select(t => _client.StoreRecordAsync(t, record, cancellationToken))).ConfigureAwait(false);
        return accepted.Count(a => a);
    }

    /// <summary>
    /// A store that failed after its manifest went out: an owner-signed tombstone replaces it at the same nodes, so
    /// no node keeps (or repairs) a file whose store was reported as failed. Best effort, with its own deadline.
    /// </summary>
    private async Task WithdrawAsync(Manifest manifest, OwnerKey owner, List<PeerContact> publishedTo)
    {
        List<PeerContact> targets;
        lock (publishedTo) targets = publishedTo.DistinctBy(p => p.Id).ToList();
        if (targets.Count == 0) return;
        var tombstone = FileRecords.ForTombstone(manifest, owner, _options.TimeProvider.GetUtcNow());
        using var timeout = new CancellationTokenSource(_options.RecordTimeout);
        await Task.WhenAll(targets.Select(t => _client.StoreRecordAsync(t, tombstone, timeout.Token))).ConfigureAwait(false);
    }

    /// <summary>Removes the shards of a failed store (owner-signed, best effort: expiry-less orphans are not kept).</summary>
    private async Task CleanUpAsync(IReadOnlyCollection<(PeerContact Peer, Sha256Hash Hash)> placed, OwnerKey owner)
    {
        if (placed.Count == 0) return;
        using var timeout = new CancellationTokenSource(_options.ShardTimeout * 2);
        var now = _options.TimeProvider.GetUtcNow();
        await Task.WhenAll(placed.GroupBy(p => p.Peer.Id).Select(g =>
            _client.DeleteAsync(g.First().Peer, DeleteAuthorization.Create(owner, g.Key, g.Select(p => p.Hash), now), timeout.Token))).ConfigureAwait(false);
    }

    public Task<Stream> RetrieveAsync(Cid cid, ContentKey contentKey, CancellationToken cancellationToken = default) =>
        RetrieveAsync(cid, contentKey, DefaultRead, cancellationToken);

    public async Task<Stream> RetrieveAsync(Cid cid, ContentKey contentKey, RetrieveOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(contentKey);
        ArgumentNullException.ThrowIfNull(options);
        using var activity = MeshMetrics.Activities.StartActivity("mesh.retrieve");
        activity?.SetTag("zentalk.cid", cid.ToString());
        var (record, closest, shards) = await QuickFindFileRecordAsync(cid, cancellationToken).ConfigureAwait(false);
        var manifest = ManifestOf(cid, record, closest.Count);
        var source = new MeshShardSource(manifest, _client, _placement, manifest.SegmentCount == 1 ? shards : null, _options.ReadBytesInFlight);
        var decoder = new FileDecoder(manifest, contentKey, source, new FileCodecOptions
        {
            SegmentSize = manifest.SegmentSize,
            DataShards = manifest.DataShards,
            ParityShards = manifest.ParityShards,
            // Segments fetched ahead of the reader: network latency, not CPU, is what this overlaps.
            MaxSegmentsInFlight = _options.ReadSegmentsAhead,
            MemoryBudget = _decodeMemory,
            VerifyByTag = options.SoleKeyHolder,
            VerifiedAgain = static () => MeshMetrics.SegmentsVerifiedAgain.Add(1),
        });
        return decoder.OpenRead();
    }

    public async Task<MeshFileStatus> GetStatusAsync(Cid cid, CancellationToken cancellationToken = default)
    {
        using var activity = MeshMetrics.Activities.StartActivity("mesh.status");
        var manifest = await FindManifestAsync(cid, cancellationToken).ConfigureAwait(false);
        var segments = new SegmentStatus[manifest.SegmentCount];
        await Parallel.ForAsync(0, manifest.SegmentCount, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (s, ct) => segments[s] = await CheckSegmentAsync(manifest, s, ct).ConfigureAwait(false)).ConfigureAwait(false);
        var worst = segments.Max(s => s.Health);
        return new MeshFileStatus { Cid = cid, Size = manifest.PlaintextSize, Health = worst, Segments = segments };
    }

    private async Task<SegmentStatus> CheckSegmentAsync(Manifest manifest, int segment, CancellationToken cancellationToken)
    {
        var hashes = Placement.SegmentHashes(manifest, segment);
        var candidates = await _placement.ClosestAsync(Placement.SegmentKey(manifest, segment), cancellationToken).ConfigureAwait(false);
        var holders = await SegmentHolders.LocateAsync(_client, candidates, hashes, cancellationToken).ConfigureAwait(false);
        int size = manifest.ShardSize(segment);
        var locations = new List<ShardLocation>();
        var missing = new List<int>();
        int verified = 0;
        var buffer = new byte[size];
        for (int j = 0; j < hashes.Length; j++)
        {
            bool ok = false;
            foreach (var h in holders.ByShard[j])
            {
                locations.Add(new ShardLocation { ShardIndex = j, Node = h.Id, Endpoint = h.EndPoint.ToString() });
                if (!ok && await _client.GetAsync(h, hashes[j], buffer, cancellationToken).ConfigureAwait(false)) ok = true;
            }

            if (ok) verified++;
            else missing.Add(j);
        }

        return new SegmentStatus
        {
            Index = segment,
            ShardsExpected = hashes.Length,
            ShardsFound = holders.ShardsFound,
            ShardsVerified = verified,
            MissingShards = missing,
            Health = HealthOf(verified, manifest.DataShards, hashes.Length),
            Holders = locations,
        };
    }

    /// <summary>
    /// Excellent: all shards valid. Degraded: at least k + 2 valid (two more losses still leave it readable).
    /// Critical: k or k + 1 valid (one more loss from unreadable). Lost: fewer than k.
    /// </summary>
    internal static FileHealth HealthOf(int valid, int dataShards, int totalShards) =>
        valid >= totalShards ? FileHealth.Excellent
        : valid >= dataShards + 2 ? FileHealth.Degraded
        : valid >= dataShards ? FileHealth.Critical
        : FileHealth.Lost;

    public async Task DeleteAsync(Cid cid, OwnerKey owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(owner);
        using var activity = MeshMetrics.Activities.StartActivity("mesh.delete");
        activity?.SetTag("zentalk.cid", cid.ToString());
        var (record, closest) = await FindFileRecordAsync(cid, cancellationToken).ConfigureAwait(false);
        if (record is null) throw NotFound(cid, closest.Count, "nothing to delete (check the CID)");
        // A tombstone is valid only when the file's owner signed it: the file is deleted already.
        bool deleted = FileRecords.IsTombstone(record);
        var manifest = deleted ? FileRecords.OpenTombstone(record).Manifest : FileRecords.OpenManifest(record);
        if (!manifest.Owner.Equals(owner.PublicKey))
            throw new UnauthorizedOperationException($"Only the owner ({manifest.Owner.Id}) can delete {cid}; the key given is {owner.PublicKey.Id}.") { Cid = cid };
        if (deleted) return;

        var tombstone = FileRecords.ForTombstone(manifest, owner, _options.TimeProvider.GetUtcNow());
        // Which node should hold which shards: the closest to each segment key (where placement and repair put them).
        var perHolder = new Dictionary<NodeId, (PeerContact Peer, List<Sha256Hash> Hashes)>();
        for (int s = 0; s < manifest.SegmentCount; s++)
        {
            var hashes = Placement.SegmentHashes(manifest, s);
            foreach (var peer in await _placement.ClosestAsync(Placement.SegmentKey(manifest, s), cancellationToken).ConfigureAwait(false))
            {
                if (!perHolder.TryGetValue(peer.Id, out var entry)) perHolder[peer.Id] = entry = (peer, []);
                entry.Hashes.AddRange(hashes);
            }
        }

        var recordTargets = _placement.WithSelf(closest, FileRecords.KeyOf(cid)).Concat(perHolder.Values.Select(v => v.Peer)).DistinctBy(p => p.Id).ToList();
        var stored = await Task.WhenAll(recordTargets.Select(t => _client.StoreRecordAsync(t, tombstone, cancellationToken))).ConfigureAwait(false);
        if (!stored.Any(x => x))
            throw new MeshStorageException($"No node accepted the tombstone of {cid}; the file is not deleted. Retry when the mesh is reachable.");
        var now = _options.TimeProvider.GetUtcNow();
        await Task.WhenAll(perHolder.Values.Select(v => _client.DeleteAsync(v.Peer, DeleteAuthorization.Create(owner, v.Peer.Id, v.Hashes, now), cancellationToken))).ConfigureAwait(false);
        MeshMetrics.FilesDeleted.Add(1);
        _logger.Deleted(cid, stored.Count(x => x));
    }

    public async Task<StoredFile> RotateKeyAsync(Cid cid, ContentKey oldKey, OwnerKey owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(oldKey);
        ArgumentNullException.ThrowIfNull(owner);
        var manifest = await FindManifestAsync(cid, cancellationToken).ConfigureAwait(false);
        if (!manifest.Owner.Equals(owner.PublicKey))
            throw new UnauthorizedOperationException($"Only the owner ({manifest.Owner.Id}) can rotate the key of {cid}.") { Cid = cid };
        var plaintext = await RetrieveAsync(cid, oldKey, cancellationToken).ConfigureAwait(false);
        StoredFile rotated;
        await using (plaintext.ConfigureAwait(false))
        {
            rotated = await StoreAsync(plaintext, owner, new StoreOptions { ExpiresAt = manifest.ExpiresAt, SegmentSize = manifest.SegmentSize },
                progress: null, cancellationToken).ConfigureAwait(false);
        }

        await DeleteAsync(cid, owner, cancellationToken).ConfigureAwait(false);
        return rotated;
    }

    public Task<MeshNetworkInfo> GetNetworkAsync(CancellationToken cancellationToken = default)
    {
        var peers = _dht.Table.AllWithLastSeen()
            .Select(p => new MeshPeerInfo { Id = p.Contact.Id, Endpoint = p.Contact.EndPoint.ToString(), LastSeen = p.LastSeen })
            .ToList();
        return Task.FromResult(new MeshNetworkInfo
        {
            NodeId = _dht.Self.Id,
            Addresses = [_dht.Self.EndPoint.ToString()],
            RoutingTableSize = _dht.Table.Count,
            Peers = peers,
            StoredShards = _storedShards(),
            StoredBytes = _storedBytes(),
        });
    }

    /// <summary>The manifest of <paramref name="cid"/>, verified.</summary>
    /// <exception cref="ShardsUnavailableException">No manifest found, or the file was deleted.</exception>
    internal async Task<Manifest> FindManifestAsync(Cid cid, CancellationToken cancellationToken)
    {
        var (record, closest) = await FindFileRecordAsync(cid, cancellationToken).ConfigureAwait(false);
        return ManifestOf(cid, record, closest.Count);
    }

    /// <summary>The verified manifest in <paramref name="record"/>, the best record <paramref name="answered"/> nodes closest to the CID gave.</summary>
    /// <exception cref="ShardsUnavailableException">No manifest found, or the file was deleted.</exception>
    private static Manifest ManifestOf(Cid cid, ValueRecord? record, int answered)
    {
        if (record is null) throw NotFound(cid, answered, "the file is unknown or expired");
        if (FileRecords.IsTombstone(record))
            throw new MeshFileNotFoundException($"File {cid} was deleted by its owner.") { Cid = cid, IsDeleted = true };
        return FileRecords.OpenManifest(record);
    }

    /// <summary>
    /// No record for the CID: "not in the mesh" when nodes closest to it answered without one, but only "unavailable"
    /// when none answered (this node is cut off, and the file may well exist).
    /// </summary>
    private static ShardsUnavailableException NotFound(Cid cid, int answered, string meaning) => answered > 0
        ? new MeshFileNotFoundException($"No manifest for {cid} was found at the {answered} nodes closest to it: {meaning}.") { Cid = cid }
        : new ShardsUnavailableException($"No node answered the lookup of {cid}: this node reaches no peer now. Check its bootstrap peers and network, then retry.") { Cid = cid };

    /// <summary>
    /// For reads: one round of FIND_VALUE, in parallel, to the nodes closest to the CID by this node's routing table
    /// (the nodes that hold the manifest and, after a delete, the tombstone), instead of an iterative lookup's
    /// sequential rounds. Falls back to the full lookup when none of them has a record. The same round asks the node
    /// at place j (j &lt; k) for shard j, which it holds when the file has one segment (placed by its CID,
    /// <see cref="Placement.SegmentKey(Manifest, int)"/>): such a file's data shards come with its manifest.
    /// </summary>
    internal async Task<(ValueRecord? Record, List<PeerContact> Closest, ShardsWithManifest Shards)> QuickFindFileRecordAsync(Cid cid, CancellationToken cancellationToken)
    {
        var key = FileRecords.KeyOf(cid);
        // Closest first, this node in its place when it stores: shard j of a one-segment file is at place j.
        var placed = _placement.LocalClosest(key);
        var peers = placed.Where(p => !_client.IsSelf(p)).ToList();
        int asked = _options.DataShards;
        var shards = new ShardsWithManifest();
        var keyBytes = Google.Protobuf.ByteString.CopyFrom(key.ToByteArray());
        var answers = await Task.WhenAll(placed.Select(async (p, place) =>
        {
            if (_client.IsSelf(p)) return null; // Its record is read below; its shard, if any, is read locally.
            if (_placement.FailedRecently(p))
            {
                // Down or cut off a moment ago: a read on one side of a partition does not wait out a deadline per node
                // of the other side (if none of the others has the record, the lookup below still asks it, as a probe).
                shards.NoAnswer(p.Id);
                return null;
            }

            var request = new FindValueRequest { Key = keyBytes };
            if (place < asked) request.ShardIndex = (uint)place;
            try
            {
                var response = await _dht.CallAsync(p, new Request { FindValue = request }, cancellationToken).ConfigureAwait(false);
                var found = response.FindValue?.Record;
                if (found is not { Type: FileRecords.Type } || !found.Key.Equals(keyBytes)) return null;
                FileRecordValidator.Instance.Validate(found);
                if (place < asked) shards.Add(place, response.FindValue!.Shard);
                return found;
            }
            catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException or ArgumentException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                if (e is TimeoutException or IOException or OperationCanceledException or ProtocolException) shards.NoAnswer(p.Id);
                return null; // This peer does not help; the others (or the full lookup) will.
            }
        })).ConfigureAwait(false);
        ValueRecord? record = _dht.Records.Get(key) is { Type: FileRecords.Type } local ? local : null;
        foreach (var found in answers)
            if (found is not null) record = record is null ? found : FileRecordValidator.Instance.Select(record, found);
        if (record is not null) return (record, peers, shards);
        var (fromLookup, closest) = await FindFileRecordAsync(cid, cancellationToken).ConfigureAwait(false);
        return (fromLookup, closest, shards);
    }

    /// <summary>
    /// The best file record for the CID (the owner's tombstone beats the manifest), and the nodes closest to it. The
    /// lookup believes only file records: another type under the CID (a type-0 record holding the manifest's bytes,
    /// say) can neither end it nor stand in for the file.
    /// </summary>
    internal async Task<(ValueRecord? Record, List<PeerContact> Closest)> FindFileRecordAsync(Cid cid, CancellationToken cancellationToken)
    {
        var key = FileRecords.KeyOf(cid);
        var local = _dht.Records.Get(key);
        var lookup = await NodeLookup.RunAsync(_dht, key, wantValue: true, cancellationToken, recordType: FileRecords.Type).ConfigureAwait(false);
        var record = lookup.Record is { Type: FileRecords.Type } found ? found : null;
        if (local is { Type: FileRecords.Type })
            record = record is null ? local : FileRecordValidator.Instance.Select(local, record);
        return (record, lookup.Closest);
    }
}
