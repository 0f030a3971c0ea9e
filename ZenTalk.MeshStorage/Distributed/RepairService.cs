using System.Buffers;
using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Erasure;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// The background upkeep of a storing node, one pass per interval:
/// <list type="number">
/// <item>garbage-collects expired shards, and holds that no live manifest it knows references a grace period after
/// they were taken (<see cref="DistributedOptions.UnreferencedGrace"/>), and forgets expired manifests;</item>
/// <item>for every file in its <see cref="FileIndex"/> (<see cref="DistributedOptions.RepairFilesInParallel"/> at a
/// time), looks the CID up in the DHT: a genuine tombstone (which
/// this node may have missed while offline) drops the file's local shards;</item>
/// <item>for the files whose CID it is the closest live node to, checks their segments (at most
/// <see cref="DistributedOptions.RepairSegmentsPerFile"/> per file per pass, the next pass going on from there):
/// HAS_SHARDS at the nodes closest to the segment key, plus one verifying read of a random present shard; a segment
/// with fewer than k + m valid shards is rebuilt from any k and the missing shards are put on the closest nodes that
/// hold none of the segment's shards.</item>
/// </list>
/// Passes on several nodes at once are harmless: shards are content-addressed, so placing one twice stores it once.
/// Nothing one file does ends the loop: a file whose repair fails for a reason of its own (not the network's) is
/// quarantined: logged once and no longer repaired by this process, while every other file goes on.
/// A node that has just started knows few peers, and to it the shards its peers hold look missing: the first pass waits
/// until the routing table is warm, and a segment is reported lost only when every node that may hold its shards answered
/// (the lookup of its closest nodes, their HAS_SHARDS and the fetches of what they claimed) and at least as many did as it
/// has shards (k + m, or every node this one knows when it knows fewer); otherwise it is only unreachable for now.
/// </summary>
internal sealed class RepairService
{
    private readonly DhtNode _dht;
    private readonly MeshStore _store;
    private readonly FileIndex _files;
    private readonly ShardStore _shards;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(int, int), ReedSolomon> _codecs = new();
    private readonly SemaphoreSlim _onePass = new(1, 1);
    private readonly ConcurrentDictionary<Cid, NodeId> _handedTo = new();
    private readonly ConcurrentDictionary<Cid, int> _nextSegment = new();
    private readonly ConcurrentDictionary<Cid, string> _quarantined = new();
    private (DateTimeOffset At, RepairReport Report)? _lastPass;

    public RepairService(DhtNode dht, MeshStore store, FileIndex files, ShardStore shards, TimeProvider time, ILogger logger)
    {
        _dht = dht;
        _store = store;
        _files = files;
        _shards = shards;
        _time = time;
        _logger = logger;
    }

    /// <summary>Peers in the routing table that make it warm at once: a segment's worth (k + m).</summary>
    public int WarmPeers { get; init; } = 15;

    /// <summary>A routing table that has not grown for this long (and is not empty) is warm too.</summary>
    public TimeSpan WarmUpSettle { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The first pass waits for a warm routing table at most this long after the node started.</summary>
    public TimeSpan WarmUpGrace { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The most files the last pass checked at once (at most <see cref="DistributedOptions.RepairFilesInParallel"/>).</summary>
    internal int LastPassPeakFiles { get; private set; }

    /// <summary>When the last pass ended and what it did; null before the first.</summary>
    public (DateTimeOffset At, RepairReport Report)? LastPass => _lastPass;

    public async Task RunAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        if (interval == Timeout.InfiniteTimeSpan) return;
        var started = _time.GetUtcNow();
        // The first pass comes early: a node back from downtime should learn of deletions it missed soon.
        var delay = interval < TimeSpan.FromSeconds(10) ? interval : TimeSpan.FromSeconds(10);
        bool first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = interval;
                if (first) await WaitUntilWarmAsync(started, cancellationToken).ConfigureAwait(false);
                first = false;
                long passStart = _time.GetTimestamp();
                var report = await RunPassAsync(cancellationToken).ConfigureAwait(false);
                if (report.ShardsRepaired + report.ShardsDropped + report.SegmentsLost + report.SegmentsUnreachable > 0)
                    _logger.RepairPass(report);
                else
                    _logger.RepairPassQuiet((long)_time.GetElapsedTime(passStart).TotalMilliseconds, report);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Only cancellation ends the loop: it also collects expired shards and drops deleted files' shards.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.RepairPassFailed(e);
            }
        }
    }

    /// <summary>
    /// Waits until the routing table holds <see cref="WarmPeers"/> peers, or has held at least one and stopped growing
    /// for <see cref="WarmUpSettle"/>, or <see cref="WarmUpGrace"/> has passed since <paramref name="started"/>.
    /// </summary>
    private async Task WaitUntilWarmAsync(DateTimeOffset started, CancellationToken cancellationToken)
    {
        int seen = -1;
        var changed = started;
        while (true)
        {
            int count = _dht.Table.Count;
            var now = _time.GetUtcNow();
            if (count != seen)
            {
                seen = count;
                changed = now;
            }

            if (count >= WarmPeers || (count > 0 && now - changed >= WarmUpSettle) || now - started >= WarmUpGrace) return;
            await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One full pass (see the class summary). Passes do not overlap.</summary>
    public async Task<RepairReport> RunPassAsync(CancellationToken cancellationToken)
    {
        await _onePass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var activity = MeshMetrics.Activities.StartActivity("mesh.repair");
            int dropped = await _shards.CollectExpiredAsync(cancellationToken).ConfigureAwait(false);
            var referenced = _files.ReferencedShards(_shards.Contains, _time.GetUtcNow());
            dropped += await _shards.CollectUnreferencedAsync(
                (hash, owner) => referenced.TryGetValue(hash, out var owners) && (owner.IsZero || owners.Contains(owner)),
                _store.Options.UnreferencedGrace, cancellationToken).ConfigureAwait(false);
            int checkedFiles = 0, repaired = 0, lost = 0, segments = 0, unreachable = 0, inFlight = 0, peak = 0;
            var now = _time.GetUtcNow();
            // Files side by side: each one's check is mostly waiting for the network (its CID's lookup, HAS_SHARDS,
            // fetches), and one after another a pass over a large index took as many lookups' time as it has files.
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _store.Options.RepairFilesInParallel, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(_files.Files.ToList(), parallel, async (file, token) =>
            {
                var (cid, entry) = file;
                HighWater.Raise(ref peak, Interlocked.Increment(ref inFlight));
                try
                {
                    var result = await CheckFileAsync(cid, entry, now, token).ConfigureAwait(false);
                    Interlocked.Add(ref dropped, result.Dropped);
                    if (result.Segments == 0) return;
                    Interlocked.Increment(ref checkedFiles);
                    Interlocked.Add(ref repaired, result.Repaired);
                    Interlocked.Add(ref lost, result.Lost);
                    Interlocked.Add(ref segments, result.Segments);
                    Interlocked.Add(ref unreachable, result.Unreachable);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e) when (IsTransient(e))
                {
                    _logger.RepairCheckFailed(e, cid);
                }
#pragma warning disable CA1031 // Whatever else one file's repair throws is that file's doing: it must not end the pass.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Quarantine(cid, e.GetType().Name + ": " + e.Message, e);
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            }).ConfigureAwait(false);

            LastPassPeakFiles = peak;
            var report = new RepairReport(checkedFiles, repaired, dropped, lost, segments, unreachable);
            _lastPass = (_time.GetUtcNow(), report);
            return report;
        }
        finally
        {
            _onePass.Release();
        }
    }

    /// <summary>Failures of the network or of peers (the next pass retries), as opposed to the file's own.</summary>
    private static bool IsTransient(Exception e) =>
        e is IOException or TimeoutException or OperationCanceledException || (e is MeshStorageException && e is not IntegrityException);

    private void Quarantine(Cid cid, string reason, Exception? error = null)
    {
        if (_quarantined.TryAdd(cid, reason))
            _logger.Quarantined(error, cid, reason);
    }

    private void Forget(Cid cid)
    {
        _files.Forget(cid);
        _handedTo.TryRemove(cid, out _);
        _nextSegment.TryRemove(cid, out _);
        _quarantined.TryRemove(cid, out _);
    }

    /// <summary>One file's part of a pass: expiry, deletion, and the repair of its segments when this node is the closest.</summary>
    private async Task<(int Dropped, int Repaired, int Lost, int Unreachable, int Segments)> CheckFileAsync(Cid cid, FileIndex.Entry entry, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (entry.Manifest is { ExpiresAt: { } expires } && expires <= now)
        {
            Forget(cid);
            return default;
        }

        if (entry.TombstoneRecord is { } dead)
            return (await _files.AcceptAsync(dead, cancellationToken).ConfigureAwait(false), 0, 0, 0, 0);

        if (entry.Manifest is not { } manifest) return default;
        var (record, closest) = await _store.FindFileRecordAsync(cid, cancellationToken).ConfigureAwait(false);
        if (record is not null && FileRecords.IsTombstone(record))
        {
            try
            {
                _dht.Records.Put(record);
            }
            catch (Exception e) when (e is MeshStorageException or ArgumentException)
            {
                _logger.TombstoneRefused(cid, e.Message);
            }

            return (await _files.AcceptAsync(record, cancellationToken).ConfigureAwait(false), 0, 0, 0, 0);
        }

        if (_quarantined.ContainsKey(cid)) return default;
        var ranked = _store.Placement.WithSelf(closest, FileRecords.KeyOf(cid));
        if (ranked.Count == 0) return default;
        if (ranked[0].Id != _dht.Self.Id)
        {
            // Another live node is closer: its job. But it may have been down or cut off when the file was
            // stored, and a node repairs only files in its own index: hand it the record (once per
            // responsible node), or nobody would ever repair the file.
            if (entry.ManifestRecord is { } known && (!_handedTo.TryGetValue(cid, out var given) || given != ranked[0].Id))
            {
                bool handed = await _store.Client.StoreRecordAsync(ranked[0], known, cancellationToken).ConfigureAwait(false);
                if (handed) _handedTo[cid] = ranked[0].Id;
                _logger.RepairHandedOver(cid, ranked[0].Id, handed);
            }

            return default;
        }

        // Checked before anything is fetched: the manifest, not this node, chose how large a segment is.
        if (FileDecoder.BufferCost(manifest.SegmentBufferSize) > _store.DecodeMemory.Capacity)
        {
            Quarantine(cid, $"one segment needs {manifest.SegmentBufferSize} bytes to rebuild ({manifest.TotalShards} shards of {Manifest.ShardSizeFor(manifest.SegmentSize, manifest.DataShards)} bytes), more than this node's decode budget of {_store.DecodeMemory.Capacity} (MaxDecodeMemoryBytes)");
            return default;
        }

        var (repaired, lost, unreachable, segments) = await RepairFileAsync(manifest, cancellationToken).ConfigureAwait(false);
        return (0, repaired, lost, unreachable, segments);
    }

    /// <summary>
    /// Checks and rebuilds the next <see cref="DistributedOptions.RepairSegmentsPerFile"/> segments of one file (all
    /// of a smaller file), going on where the last pass stopped; returns (shards repaired, segments lost, segments unreachable, segments checked).
    /// </summary>
    internal async Task<(int Repaired, int Lost, int Unreachable, int Checked)> RepairFileAsync(Manifest manifest, CancellationToken cancellationToken)
    {
        int repaired = 0, lost = 0, unreachable = 0;
        // The manifest is the puts' authority: the first put to a node carries it, later ones name its CID.
        var authority = new RepairAuthority(FileRecords.ForManifest(manifest), ByteString.CopyFrom(FileRecords.KeyOf(manifest.Cid).ToByteArray()));
        int count = manifest.SegmentCount;
        int segments = Math.Min(count, _store.Options.RepairSegmentsPerFile);
        int start = _nextSegment.TryGetValue(manifest.Cid, out var next) ? next % count : 0;
        for (int i = 0; i < segments; i++)
        {
            int r = await RepairSegmentAsync(manifest, (start + i) % count, authority, cancellationToken).ConfigureAwait(false);
            if (r == SegmentLost) lost++;
            else if (r == SegmentUnreachable) unreachable++;
            else repaired += r;
        }

        if (segments < count) _nextSegment[manifest.Cid] = (start + segments) % count;
        if (repaired > 0) MeshMetrics.ShardsRepaired.Add(repaired);
        if (lost > 0)
            _logger.SegmentsLost(lost, segments, manifest.Cid, manifest.DataShards);
        return (repaired, lost, unreachable, segments);
    }

    /// <summary>The manifest record a repair's puts carry to a node, and the nodes that already have it from this pass.</summary>
    private sealed record RepairAuthority(Rpc.Wire.ValueRecord Record, ByteString Cid)
    {
        public HashSet<NodeId> Holding { get; } = [];

        public PutAuthority For(PeerContact target) =>
            Holding.Contains(target.Id) ? new PutAuthority(FileCid: Cid) : new PutAuthority(Record: Record);
    }

    private const int SegmentLost = -1, SegmentUnreachable = -2;

    /// <summary>Rebuilds one segment in a buffer taken from the node's decode budget; <see cref="SegmentLost"/> or <see cref="SegmentUnreachable"/> when it has fewer than k valid shards.</summary>
    private async Task<int> RepairSegmentAsync(Manifest manifest, int segment, RepairAuthority authority, CancellationToken cancellationToken)
    {
        int bytes = checked(manifest.TotalShards * manifest.ShardSize(segment));
        long taken = await _store.DecodeMemory.AcquireAsync(FileDecoder.BufferCost(bytes), cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            return await RebuildSegmentAsync(manifest, segment, authority, buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _store.DecodeMemory.Release(taken);
        }
    }

    /// <summary>
    /// Looks for the <paramref name="missing"/> shards beyond the closest nodes, at the next k that this node's routing
    /// table names, and fetches up to <paramref name="needed"/> of them; returns how many it fetched. A file stored while
    /// a partition hid half the mesh sits on the closest nodes of its side, and after healing some of those rank beyond
    /// the k closest: its shards there are sources for the rebuild (and still count as missing, so they get homes among
    /// the closest).
    /// </summary>
    private async Task<int> FetchFromFartherNodesAsync(NodeId key, List<PeerContact> candidates, Sha256Hash[] hashes, List<int> missing,
        bool[] fetched, Memory<byte>[] shards, int needed, CancellationToken cancellationToken)
    {
        var outside = await SegmentHolders.LocateOutsideAsync(_store.Client, _dht.Table.ClosestAnswering(key, 2 * _dht.Options.K), candidates, hashes,
            cancellationToken).ConfigureAwait(false);
        int got = 0;
        foreach (int j in missing.Distinct().Where(j => !fetched[j]).ToList())
        {
            if (got >= needed) break;
            foreach (var h in outside.ByShard[j])
            {
                if (await _store.Client.FetchAsync(h, hashes[j], shards[j], cancellationToken).ConfigureAwait(false) != ShardFetch.Fetched) continue;
                fetched[j] = true;
                got++;
                break;
            }
        }

        return got;
    }

    private async Task<int> RebuildSegmentAsync(Manifest manifest, int segment, RepairAuthority authority, byte[] buffer, CancellationToken cancellationToken)
    {
        var client = _store.Client;
        var hashes = Placement.SegmentHashes(manifest, segment);
        int n = hashes.Length, k = manifest.DataShards, size = manifest.ShardSize(segment);
        var key = Placement.SegmentKey(manifest, segment);
        var (candidates, lookupUnanswered) = await _store.Placement.ClosestWithUnansweredAsync(key, cancellationToken).ConfigureAwait(false);
        var holders = await SegmentHolders.LocateAsync(client, candidates, hashes, cancellationToken).ConfigureAwait(false);
        var shards = new Memory<byte>[n];
        for (int j = 0; j < n; j++) shards[j] = buffer.AsMemory(j * size, size);
        // Holders that claimed a shard and then did not answer its fetch (a timeout is not a "no": the shard may be there),
        // and every claim as made, before any holder's claims are set aside below.
        var silent = new HashSet<NodeId>();
        var claims = holders.ByShard.Select(h => h.ToList()).ToArray();

        // A verifying sample: a holder that claims a shard but does not serve it (or serves bad bytes) is caught lying,
        // and none of its claims on this segment count in this pass. Otherwise a peer that answers HAS_SHARDS with
        // "yes" to everything hides every lost shard from repair, and only the one sampled shard per pass is rebuilt.
        var claimed = Enumerable.Range(0, n).Where(j => holders.ByShard[j].Count > 0).ToList();
        var fetched = new bool[n];
        var caught = new HashSet<NodeId>();
        if (claimed.Count > 0)
        {
            int j = claimed[Random.Shared.Next(claimed.Count)];
            foreach (var h in holders.ByShard[j].ToList())
            {
                var fetch = await client.FetchAsync(h, hashes[j], shards[j], cancellationToken).ConfigureAwait(false);
                if (fetch == ShardFetch.Fetched) fetched[j] = true;
                else caught.Add(h.Id);
                if (fetch == ShardFetch.NoAnswer) silent.Add(h.Id);
            }

            if (caught.Count > 0)
                foreach (var list in holders.ByShard) list.RemoveAll(h => caught.Contains(h.Id));
        }

        var missing = Enumerable.Range(0, n).Where(j => holders.ByShard[j].Count == 0).ToList();
        // Crowded shards: a node that is the only holder of several shards of the segment loses them all when it
        // fails, so "15 of 15 present" could hide a segment that 5 node failures make unreadable (placement crowds
        // nodes when too few are reachable, and so does a repair with no free node). Such a node keeps one; the others
        // get a copy on a node that is not "busy", while there are such nodes. Busy = the only holder of some shard:
        // a node holding only copies that others hold too is as good a home as one holding nothing.
        var busy = new HashSet<NodeId>(holders.ByShard.Where(h => h.Count == 1).Select(h => h[0].Id));
        int free = candidates.Count(c => !busy.Contains(c.Id) && !caught.Contains(c.Id));
        var spread = Enumerable.Range(0, n).Where(j => holders.ByShard[j].Count == 1)
            .GroupBy(j => holders.ByShard[j][0].Id)
            .SelectMany(g => g.Skip(1))
            .Take(Math.Max(0, free - missing.Count))
            .ToList();
        _logger.SegmentChecked(segment, manifest.Cid, candidates.Count, lookupUnanswered, holders.Answered, missing.Count, spread.Count);
        if (missing.Count == 0 && spread.Count == 0) return 0;
        int valid = fetched.Count(f => f);
        foreach (int j in Enumerable.Range(0, n).Where(j => !fetched[j] && holders.ByShard[j].Count > 0))
        {
            if (valid >= k) break;
            foreach (var h in holders.ByShard[j])
            {
                var fetch = await client.FetchAsync(h, hashes[j], shards[j], cancellationToken).ConfigureAwait(false);
                if (fetch == ShardFetch.Fetched)
                {
                    fetched[j] = true;
                    valid++;
                    break;
                }

                if (fetch == ShardFetch.NoAnswer) silent.Add(h.Id);
            }

            if (!fetched[j]) missing.Add(j);
        }

        if (valid < k)
            valid += await FetchFromFartherNodesAsync(key, candidates, hashes, missing, fetched, shards, k - valid, cancellationToken).ConfigureAwait(false);

        if (valid < k)
        {
            // Lost only if the nodes that can hold the segment's shards were asked, and answered: every node the lookup
            // heard of that may be among the closest, every candidate's HAS_SHARDS, every fetch of a claimed shard; and
            // at least as many as the segment has shards, or as this node knows storing nodes. Otherwise holders are
            // down, cut off or not yet known (a restart, a node that cannot reach its peers): the segment is unreadable
            // now, and checked again next pass.
            int known = _dht.Table.Count + 1;
            int unanswered = Math.Max(lookupUnanswered + (candidates.Count - holders.Answered) + silent.Count, Math.Min(n, known) - holders.Answered);
            if (_dht.Table.Count == 0 || unanswered > 0)
            {
                int mayHold = Enumerable.Range(0, n).Count(j => !fetched[j] && claims[j].Exists(h => silent.Contains(h.Id)));
                _logger.SegmentUnreachable(segment, manifest.Cid, valid, k, holders.Answered, Math.Max(unanswered, 1), mayHold);
                return SegmentUnreachable;
            }

            _logger.SegmentLost(segment, manifest.Cid, valid, k, holders.Answered);
            return SegmentLost;
        }

        var codec = _codecs.GetOrAdd((k, manifest.ParityShards), key => new ReedSolomon(key.Item1, key.Item2));
        codec.Reconstruct(shards, fetched);

        // New homes: the closest nodes that are the only holder of nothing in this segment first (one shard per
        // node), then any. A holder caught lying gets none: it would take the shard and could withhold it again.
        var trusted = candidates.Where(c => !caught.Contains(c.Id)).ToList();
        var targets = new Queue<PeerContact>(trusted.Where(c => !busy.Contains(c.Id)).Concat(trusted.Where(c => busy.Contains(c.Id))));
        int repaired = 0;
        foreach (int j in missing.Distinct())
        {
            if (!hashes[j].Matches(shards[j].Span)) continue; // Cannot happen with a correct codec; never place bad bytes.
            while (targets.TryDequeue(out var target))
                if (await PutAsync(j, target).ConfigureAwait(false)) break;
        }

        foreach (int j in spread.Except(missing))
        {
            if (!hashes[j].Matches(shards[j].Span)) continue;
            // Only to a node that is not already the only holder of a shard: there the copy would spread nothing.
            while (targets.TryPeek(out var target) && !busy.Contains(target.Id))
            {
                targets.Dequeue();
                if (await PutAsync(j, target).ConfigureAwait(false)) break;
            }
        }

        // New holders learned which file the shards belong to from the puts, as holders at store time do.
        return repaired;

        async Task<bool> PutAsync(int j, PeerContact target)
        {
            bool accepted = await client.PutAsync(target, hashes[j], shards[j], authority.For(target), cancellationToken).ConfigureAwait(false);
            _logger.RepairPut(j, segment, manifest.Cid, target.Id, accepted);
            if (!accepted) return false;
            repaired++;
            authority.Holding.Add(target.Id);
            return true;
        }
    }
}
