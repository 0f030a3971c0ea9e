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
/// of such a file is its CID, so they wait for <see cref="SetRecord"/> and the CID's lookup that comes with it (the
/// one the store publishes the record with), and each holder keeps the record with the shard, which saves the store a
/// STORE_VALUE round to those nodes, and the record is the puts' authority. A larger file's segments
/// are placed before its manifest exists: their puts carry the owner's <see cref="StoreDelegation"/> to this node (one
/// owner signature for the store, made while the first segment's lookup runs; <see cref="StoreSession"/>).
/// </para>
/// </summary>
internal sealed class StorePlacementSink : IShardSink, IAsyncDisposable
{
    private readonly ShardClient _client;
    private readonly Placement _placement;
    private readonly OwnerKey _owner;
    private readonly NodeId _uploader;
    private readonly long _expiresUnixMs;
    private readonly TimeProvider _time;
    private readonly int _happy;
    private readonly int _segmentSize;
    private readonly Func<long> _bytesRead;
    private readonly IProgress<TransferProgress>? _progress;
    private readonly long? _totalBytes;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _cancel;
    private readonly List<Task> _tasks = [];
    private readonly ConcurrentBag<(PeerContact Peer, Sha256Hash Hash)> _placed = [];
    private readonly Lock _progressLock = new();
    private readonly TaskCompletionSource<(ValueRecord Record, Task<List<PeerContact>> ClosestToCid)> _record = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<IReadOnlyList<PeerContact>> _recordTargets = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<NodeId, PeerContact> _recordSentTo = new();
    private readonly ConcurrentDictionary<NodeId, byte> _recordHolders = new();
    private Task<StoreSession>? _session;
    private long _bytesDone;
    private int _segmentsDone;
    private Exception? _failure;

    public StorePlacementSink(ShardClient client, Placement placement, OwnerKey owner, NodeId uploader, long expiresUnixMs, int happy,
        int segmentSize, int segmentsInFlight, Func<long> bytesRead, IProgress<TransferProgress>? progress, long? totalBytes,
        TimeProvider time, CancellationToken cancellationToken)
    {
        _client = client;
        _placement = placement;
        _owner = owner;
        _uploader = uploader;
        _expiresUnixMs = expiresUnixMs;
        _time = time;
        _happy = happy;
        _segmentSize = segmentSize;
        _bytesRead = bytesRead;
        _progress = progress;
        _totalBytes = totalBytes;
        _slots = new SemaphoreSlim(segmentsInFlight, segmentsInFlight);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
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
    /// lookup of the nodes closest to the CID, which places such a file.
    /// </summary>
    public void SetRecord(ValueRecord record, Task<List<PeerContact>> closestToCid) => _record.TrySetResult((record, closestToCid));

    /// <summary>Distinct nodes that received shards.</summary>
    public IEnumerable<PeerContact> Holders => _placed.Select(p => p.Peer).DistinctBy(p => p.Id);

    public async ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancel.Token);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_failure is not null)
        {
            throw _failure;
        }

        if (_failure is not null)
        {
            _slots.Release();
            throw _failure;
        }

        // The encoder writes segment 0 even for an empty file. When more segments follow, the manifest comes too late.
        if (segment is { Index: 0, Last: false }) _recordTargets.TrySetResult([]);
        int n = segment.Shards.Length;
        // The encoder's own buffer when it hands it over, so the shards are not copied once more per segment.
        var buffer = segment.TakeBuffer?.Invoke() ?? CopyShards(segment);
        var hashes = (Sha256Hash[])segment.Hashes.Clone();
        long plaintext = Math.Min(_segmentSize, _bytesRead() - ((long)segment.Index * _segmentSize));
        bool carriesRecord = segment is { Index: 0, Last: true };
        // The delegation's owner signature is made beside the first segment's lookup, not in front of it.
        if (!carriesRecord) _session ??= Task.Run(() => new StoreSession(_owner, _uploader, _expiresUnixMs, _time), CancellationToken.None);
        _tasks.Add(Task.Run(() => PlaceAsync(segment.Index, segment.ShardSize, buffer, hashes, plaintext, carriesRecord), CancellationToken.None));
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

    private async Task PlaceAsync(int index, int shardSize, byte[] buffer, Sha256Hash[] hashes, long plaintext, bool carriesRecord)
    {
        try
        {
            var token = _cancel.Token;
            int n = hashes.Length;
            ValueRecord? record = null;
            List<PeerContact> candidates;
            PutAuthority authority;
            if (carriesRecord)
            {
                // The segment key of a one-segment file is its CID (Placement.SegmentKey): the CID's lookup places it.
                (record, var closestToCid) = await _record.Task.WaitAsync(token).ConfigureAwait(false);
                candidates = await closestToCid.WaitAsync(token).ConfigureAwait(false);
                _recordTargets.TrySetResult(candidates.Take(n).DistinctBy(c => c.Id).ToList());
                authority = new PutAuthority(Record: record);
            }
            else
            {
                candidates = await _placement.ClosestAsync(Placement.ShardsKey(hashes), token).ConfigureAwait(false);
                var session = await _session!.WaitAsync(token).ConfigureAwait(false);
                authority = new PutAuthority(Delegation: session.Delegation());
            }

            if (candidates.Count == 0)
                throw new ShardsUnavailableException($"Segment {index}: no storing node is reachable; join the mesh (bootstrap peers) before storing.")
                {
                    SegmentIndex = index, ShardsFound = 0, ShardsNeeded = _happy,
                };

            var spares = new ConcurrentQueue<PeerContact>(candidates.Skip(n));
            var results = await Task.WhenAll(Enumerable.Range(0, n).Select(async j =>
            {
                var data = buffer.AsMemory(j * shardSize, shardSize);
                var target = candidates[j % candidates.Count];
                while (true)
                {
                    if (record is not null) _recordSentTo[target.Id] = target;
                    if (await _client.PutAsync(target, hashes[j], data, authority, token).ConfigureAwait(false))
                    {
                        _placed.Add((target, hashes[j]));
                        if (record is not null) _recordHolders[target.Id] = 0;
                        return true;
                    }

                    if (!spares.TryDequeue(out target)) return false;
                }
            })).ConfigureAwait(false);
            int stored = results.Count(r => r);
            if (stored < _happy)
            {
                throw new ShardsUnavailableException(
                    $"Segment {index}: only {stored} of {n} shards could be placed ({candidates.Count} storing nodes reachable); at least {_happy} are needed. Nothing was kept; retry when more nodes are online.")
                {
                    SegmentIndex = index, ShardsFound = stored, ShardsNeeded = _happy,
                };
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
            ArrayPool<byte>.Shared.Return(buffer);
            _slots.Release();
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
