using System.Buffers;
using System.Collections.Concurrent;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Receives encoded segments from <see cref="FileEncoder"/> and places them: each segment's buffer (taken over from
/// the encoder, or a copy of its shards from another sink's caller) is handed to a background task (at most <see cref="DistributedOptions.SegmentsInFlight"/> at once, so memory stays
/// bounded) that looks up the segment key (<see cref="Placement.SegmentKey(Manifest, int)"/>) and puts shard j on the j-th closest node, falling back to the spare
/// candidates beyond k + m when a node refuses or times out. A segment with fewer than the "happy" number of shards
/// placed fails the whole store.
/// <para>
/// For a file of one segment (segment 0 is also the last) the puts carry the file's manifest record: the segment key
/// of such a file is its CID, so they wait for <see cref="SetRecord"/>, and each holder keeps the record with the shard,
/// which saves the store a STORE_VALUE round to those nodes, and the record is the puts' authority. They do not wait
/// for the CID's lookup (the one the store publishes the record with): shard j goes at once to the j-th closest node
/// to the CID by this node's routing table among those with no recent failure (an early put), and the lookup decides
/// the places. Where it names the same node, the early put is the put; where it names another (the table missed a
/// closer node, or the table's node did not answer it), the lookup's node gets its put after the lookup and the early
/// copy is taken back by an owner-signed DELETE_SHARDS once its put is answered. The store waits for no early put the
/// lookup overruled: a node that did not answer the lookup may be down, and its put runs out in the background (the
/// segment buffer goes back to the pool when it has). A larger file's segments
/// are placed before its manifest exists: their puts carry the owner's <see cref="StoreDelegation"/> to this node (at
/// most one owner signature for the store, made while the first segment's lookup runs, and none when an earlier store
/// of the same owner and expiry left one with more than an hour to run; <see cref="StoreDelegationCache"/>).
/// </para>
/// </summary>
internal sealed class StorePlacementSink : IShardSink, IAsyncDisposable
{
    private readonly ShardClient _client;
    private readonly Placement _placement;
    private readonly OwnerKey _owner;
    private readonly StoreDelegationCache _delegations;
    private readonly long _expiresUnixMs;
    private readonly TimeProvider _time;
    private readonly int _happy;
    private readonly int _segmentSize;
    private readonly Func<long> _bytesRead;
    private readonly IProgress<TransferProgress>? _progress;
    private readonly long? _totalBytes;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _callerToken;
    private readonly List<Task> _tasks = [];
    private readonly ConcurrentBag<(PeerContact Peer, Sha256Hash Hash)> _placed = [];
    private readonly Lock _progressLock = new();
    private readonly TaskCompletionSource<(ValueRecord Record, List<PeerContact> Table, Task<List<PeerContact>> Lookup)> _record = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IReadOnlyList<PeerContact>> _recordTargets = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<NodeId, PeerContact> _recordSentTo = new();
    private readonly ConcurrentDictionary<NodeId, byte> _recordHolders = new();
    private readonly WholeMeshView _view;
    private Task<StoreSession>? _session;
    private long _bytesDone;
    private int _segmentsDone;
    private Exception? _failure;

    public StorePlacementSink(ShardClient client, Placement placement, OwnerKey owner, StoreDelegationCache delegations, long expiresUnixMs, int happy,
        int segmentSize, int segmentsInFlight, Func<long> bytesRead, IProgress<TransferProgress>? progress, long? totalBytes,
        TimeProvider time, CancellationToken cancellationToken)
    {
        _client = client;
        _placement = placement;
        _owner = owner;
        _delegations = delegations;
        _expiresUnixMs = expiresUnixMs;
        _time = time;
        _happy = happy;
        _segmentSize = segmentSize;
        _bytesRead = bytesRead;
        _progress = progress;
        _totalBytes = totalBytes;
        _slots = new SemaphoreSlim(segmentsInFlight, segmentsInFlight);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _callerToken = cancellationToken;
        _view = new WholeMeshView(time);
    }

    /// <summary>Every shard placed so far and where (for clean-up after a failure).</summary>
    public IReadOnlyCollection<(PeerContact Peer, Sha256Hash Hash)> Placed => _placed;

    /// <summary>The first placement failure, if any.</summary>
    public Exception? Failure => _failure;

    /// <summary>
    /// The nodes segment 0's puts carry the manifest record to, known once its lookup is done and the record is set;
    /// empty when the puts carry no record. Always completes (empty on failure).
    /// </summary>
    public Task<IReadOnlyList<PeerContact>> RecordTargets => _recordTargets.Task;

    /// <summary>Every node a put carrying the record was sent to, accepted or not (for a withdrawal after a failure).</summary>
    public IEnumerable<PeerContact> RecordSentTo => _recordSentTo.Values;

    /// <summary>Whether <paramref name="node"/> accepted a put that carried the record.</summary>
    public bool HoldsRecord(NodeId node) => _recordHolders.ContainsKey(node);

    /// <summary>How many nodes accepted a put that carried the record.</summary>
    public int RecordHolderCount => _recordHolders.Count;

    /// <summary>
    /// Gives the signed manifest record to segment 0's puts, which carry it when the file has one segment, with the
    /// nodes closest to the CID, which place such a file: as this node's routing table names them among those with no
    /// recent failure (<paramref name="byTable"/>, known at once: the early puts go there) and as the wide lookup finds
    /// them (<paramref name="byLookup"/>, a round trip later: it decides the places).
    /// </summary>
    public void SetRecord(ValueRecord record, List<PeerContact> byTable, Task<List<PeerContact>> byLookup) =>
        _record.TrySetResult((record, byTable, byLookup));

    /// <summary>Distinct nodes that received shards.</summary>
    public IEnumerable<PeerContact> Holders => _placed.Select(p => p.Peer).DistinctBy(p => p.Id);

    public async ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancel.Token);
        bool carriesRecord = segment is { Index: 0, Last: true };
        // A segment's lookup needs only its shard hashes: it runs while the segment waits for a slot, so a slot's
        // time goes to the puts (the lookup's calls wait behind other segments' shards on the same connections).
        // Later segments may take the whole mesh from an earlier segment's lookup (WholeMeshView) instead.
        var lookup = carriesRecord ? null : _placement.ClosestAsync(Placement.ShardsKey(segment.Hashes), _view, _cancel.Token);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Abandon(lookup);
            if (_failure is not null) throw _failure;
            throw;
        }

        if (_failure is not null)
        {
            _slots.Release();
            Abandon(lookup);
            throw _failure;
        }

        // The encoder writes segment 0 even for an empty file. When more segments follow, the manifest comes too late.
        if (segment is { Index: 0, Last: false }) _recordTargets.TrySetResult([]);
        int n = segment.Shards.Length;
        // The encoder's own buffer when it hands it over, so the shards are not copied once more per segment.
        var buffer = segment.TakeBuffer?.Invoke() ?? CopyShards(segment);
        var hashes = (Sha256Hash[])segment.Hashes.Clone();
        long plaintext = Math.Min(_segmentSize, _bytesRead() - ((long)segment.Index * _segmentSize));
        // The delegation's owner signature (when no earlier store left one to reuse) is made beside the first segment's
        // lookup, not in front of it.
        if (!carriesRecord) _session ??= Task.Run(() => _delegations.Session(_owner, _expiresUnixMs), CancellationToken.None);
        _tasks.Add(Task.Run(() => PlaceAsync(segment.Index, segment.ShardSize, buffer, hashes, plaintext, carriesRecord, lookup), CancellationToken.None));
    }

    /// <summary>The lookup of a segment that will not be placed: its failure, if any, is observed here (the store has its own).</summary>
    private static void Abandon(Task? lookup)
    {
        _ = lookup?.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private static byte[] CopyShards(EncodedSegment segment)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(segment.ShardSize * segment.Shards.Length);
        for (int j = 0; j < segment.Shards.Length; j++) segment.Shards[j].Span.CopyTo(buffer.AsSpan(j * segment.ShardSize));
        return buffer;
    }

    /// <summary>Waits for every segment to be placed; throws the first failure.</summary>
    public async Task CompleteAsync()
    {
        await Task.WhenAll(_tasks).ConfigureAwait(false);
        if (_failure is not null) throw _failure;
    }

    private async Task PlaceAsync(int index, int shardSize, byte[] buffer, Sha256Hash[] hashes, long plaintext, bool carriesRecord, Task<(List<PeerContact> Closest, bool FromView)>? lookup)
    {
        Task<PeerContact?>[]? early = null;
        try
        {
            var token = _cancel.Token;
            int n = hashes.Length;
            ValueRecord? record = null;
            List<PeerContact> candidates, byTable = [];
            bool fromView = false;
            PutAuthority authority;

            // Puts shard j to target, then to the spares while they refuse or time out; returns the node that took it.
            async Task<PeerContact?> PutAsync(int j, PeerContact target, ConcurrentQueue<PeerContact>? spares, CancellationToken cancellationToken)
            {
                var data = buffer.AsMemory(j * shardSize, shardSize);
                while (true)
                {
                    if (record is not null) _recordSentTo[target.Id] = target;
                    if (await _client.PutAsync(target, hashes[j], data, authority, cancellationToken).ConfigureAwait(false))
                    {
                        _placed.Add((target, hashes[j]));
                        if (record is not null) _recordHolders[target.Id] = 0;
                        return target;
                    }

                    if (spares is null || !spares.TryDequeue(out target)) return null;
                }
            }

            if (carriesRecord)
            {
                // The segment key of a one-segment file is its CID (Placement.SegmentKey). The early puts go out with the
                // CID's lookup, not after it; with the caller's token, not the sink's, which its disposal cancels: one that
                // the lookup overrules runs out on its own, and the buffer goes back only then.
                (record, byTable, var byLookup) = await _record.Task.WaitAsync(token).ConfigureAwait(false);
                authority = new PutAuthority(Record: record);
                if (byTable.Count > 0) early = [.. Enumerable.Range(0, n).Select(j => PutAsync(j, byTable[j % byTable.Count], spares: null, _callerToken))];
                candidates = await byLookup.WaitAsync(token).ConfigureAwait(false);
                _recordTargets.TrySetResult(candidates.Take(n).DistinctBy(c => c.Id).ToList());
            }
            else
            {
                (candidates, fromView) = await lookup!.WaitAsync(token).ConfigureAwait(false);
                var session = await _session!.WaitAsync(token).ConfigureAwait(false);
                authority = new PutAuthority(Delegation: session.Delegation());
            }

            if (candidates.Count == 0)
                throw new ShardsUnavailableException($"Segment {index}: no storing node is reachable; join the mesh (bootstrap peers) before storing.")
                {
                    SegmentIndex = index, ShardsFound = 0, ShardsNeeded = _happy,
                };

            var spares = new ConcurrentQueue<PeerContact>(candidates.Skip(n));
            var overruled = new List<(int Shard, PeerContact Node)>();
            var holders = await Task.WhenAll(Enumerable.Range(0, n).Select(async j =>
            {
                var target = candidates[j % candidates.Count];
                if (early is not null)
                {
                    var earlyTarget = byTable[j % byTable.Count];
                    if (earlyTarget.Id == target.Id)
                    {
                        // The lookup confirmed the table's node: its early put is the put.
                        if (await early[j].ConfigureAwait(false) is { } took) return took;
                        if (!spares.TryDequeue(out target)) return null;
                    }
                    else
                    {
                        lock (overruled) overruled.Add((j, earlyTarget));
                    }
                }

                return await PutAsync(j, target, spares, token).ConfigureAwait(false);
            })).ConfigureAwait(false);
            if (fromView && Array.IndexOf(holders, null) >= 0)
            {
                // A node of the view refused or did not answer: the view may be out of date. Look the key up after all,
                // and put the missing shards where the lookup says, as if the segment had never used the view.
                _view.Forget();
                var found = await _placement.ClosestAsync(Placement.ShardsKey(hashes), token).ConfigureAwait(false);
                if (found.Count > 0)
                {
                    var freshSpares = new ConcurrentQueue<PeerContact>(found.Skip(n));
                    await Task.WhenAll(Enumerable.Range(0, n).Where(j => holders[j] is null).Select(async j =>
                        holders[j] = await PutAsync(j, found[j % found.Count], freshSpares, token).ConfigureAwait(false))).ConfigureAwait(false);
                }
            }

            int stored = holders.Count(h => h is not null);
            if (stored < _happy)
            {
                throw new ShardsUnavailableException(
                    $"Segment {index}: only {stored} of {n} shards could be placed ({candidates.Count} storing nodes reachable); at least {_happy} are needed. Nothing was kept; retry when more nodes are online.")
                {
                    SegmentIndex = index, ShardsFound = stored, ShardsNeeded = _happy,
                };
            }

            if (overruled.Count > 0)
            {
                // Nodes that answered the lookup answer a put in a round trip: their early copies are taken back before the
                // store returns. The others' early puts may be waiting on a node that is down; they are taken back in the
                // background when (if ever) they are answered.
                // A node that took the same shard again as a spare keeps it.
                overruled.RemoveAll(o => holders[o.Shard]?.Id == o.Node.Id);
                var answering = candidates.Select(c => c.Id).ToHashSet();
                await Task.WhenAll(overruled.Where(o => answering.Contains(o.Node.Id)).Select(o => TakeBackAsync(early![o.Shard], o.Node, hashes[o.Shard])))
                    .ConfigureAwait(false);
                foreach (var (j, node) in overruled.Where(o => !answering.Contains(o.Node.Id))) _ = TakeBackAsync(early![j], node, hashes[j]);
            }

            // Segments finish on several threads; counting and reporting under one lock keeps the reports in
            // order, so a caller never sees progress go backwards and the last report is the total.
            lock (_progressLock)
            {
                _bytesDone += plaintext;
                _segmentsDone++;
                _progress?.Report(new TransferProgress { BytesTransferred = _bytesDone, TotalBytes = _totalBytes, SegmentsCompleted = _segmentsDone });
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
            await _cancel.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            if (index == 0) _recordTargets.TrySetResult([]); // failed or cancelled before its puts: nobody carries it
            // Early puts the lookup overruled may still read the buffer: it goes back to the pool when they are done.
            if (early is not null && !Array.TrueForAll(early, t => t.IsCompleted)) _ = ReturnWhenSettledAsync(early, buffer);
            else ArrayPool<byte>.Shared.Return(buffer);
            _slots.Release();
        }
    }

    /// <summary>
    /// Takes back an early copy the lookup overruled: once its put was accepted, an owner-signed DELETE_SHARDS of that one
    /// shard at that node, with its own deadline (best effort: a copy left behind is an extra copy the owner still
    /// deletes with the file's other shards when the node is among the closest, or that expires with the file).
    /// </summary>
    private async Task TakeBackAsync(Task<PeerContact?> earlyPut, PeerContact node, Sha256Hash hash)
    {
        try
        {
            if (await earlyPut.ConfigureAwait(false) is null) return;
            using var timeout = new CancellationTokenSource(_client.ShardTimeout);
            await _client.DeleteAsync(node, DeleteAuthorization.Create(_owner, node.Id, [hash], _time.GetUtcNow()), timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The store was cancelled, or the delete ran out of time: the copy stays as an extra one.
        }
    }

    private static async Task ReturnWhenSettledAsync(Task<PeerContact?>[] puts, byte[] buffer)
    {
        try
        {
            await Task.WhenAll(puts).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Cancelled with the store.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _recordTargets.TrySetResult([]);
        await _cancel.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_tasks).ConfigureAwait(false);
        }
        catch (Exception) when (_failure is not null || _cancel.IsCancellationRequested)
        {
            // Placement tasks record their failure instead of throwing.
        }

        _cancel.Dispose();
        _slots.Dispose();
    }
}
