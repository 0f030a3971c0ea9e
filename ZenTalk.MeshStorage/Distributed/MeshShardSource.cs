using System.Collections.Concurrent;
using System.Diagnostics;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Feeds <see cref="FileDecoder"/> from the mesh. Per segment, shard j is asked first from the j-th closest node
/// to the segment key by this node's routing table (where placement put it; no lookup round trips), and only when
/// that fails does a real lookup of the segment key run and are all the closest nodes asked which shards they hold
/// (HAS_SHARDS), so a moved, missing or corrupt shard is fetched from whoever else holds it. Every shard is hash-checked; a bad copy counts as missing and the next holder is tried.
/// A one-segment file's data shards mostly came with its manifest (<see cref="ShardsWithManifest"/>): those are handed
/// out first, and a node that did not answer that round is not asked again before the fallback.
/// <para>
/// The first tries of all segments in flight share one window of shard requests (<see cref="DistributedOptions.ReadBytesInFlight"/>):
/// every holder answers at the full rate of its own link, so asking for more at once than the reader's downlink
/// carries in a round trip plus its queue holds loses the rest at that queue, and TCP takes round trips to resend it.
/// </para>
/// </summary>
internal sealed class MeshShardSource : IShardSource
{
    private const int SegmentsRemembered = 32;

    private readonly Manifest _manifest;
    private readonly ShardClient _client;
    private readonly Placement _placement;
    private readonly ShardsWithManifest? _withManifest;
    private readonly ConcurrentDictionary<int, SegmentState> _segments = new();
    private readonly SemaphoreSlim _window;
    private int _inWindow;
    private int _mostInWindow;

    /// <param name="manifest">The file's verified manifest.</param>
    /// <param name="client">Shard calls.</param>
    /// <param name="placement">Where the shards are.</param>
    /// <param name="withManifest">What the manifest round brought of a one-segment file (segment 0), or null.</param>
    /// <param name="windowBytes">Shard bytes asked for at once by first tries (at least one shard).</param>
    public MeshShardSource(Manifest manifest, ShardClient client, Placement placement, ShardsWithManifest? withManifest = null,
        long windowBytes = long.MaxValue)
    {
        _manifest = manifest;
        _client = client;
        _placement = placement;
        _withManifest = withManifest;
        int shards = (int)Math.Clamp(windowBytes / Math.Max(1, manifest.ShardSize(0)), 1, manifest.TotalShards * (long)manifest.SegmentCount);
        WindowShards = shards;
        _window = new SemaphoreSlim(shards, shards);
    }

    /// <summary>How many shard requests the window lets out at once.</summary>
    internal int WindowShards { get; }

    /// <summary>The most shard requests that were out at once (the window's high-water mark).</summary>
    internal int MostInWindow => Volatile.Read(ref _mostInWindow);

    public async ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var first = segment == 0 ? _withManifest : null;
        if (first is not null && first.TryTake(shard, destination)) return true;
        var state = _segments.GetOrAdd(segment, s => new SegmentState(this, s));
        if (segment >= SegmentsRemembered) _segments.TryRemove(segment - SegmentsRemembered, out _);
        var candidates = state.Guess;
        PeerContact? primary = candidates.Count > 0 ? candidates[shard % candidates.Count] : null;
        // A node that did not answer the manifest round (or any request) a moment ago would most likely cost a deadline again.
        if (primary is { } silent && ((first is not null && first.DidNotAnswer(silent.Id)) || _placement.FailedRecently(silent))) primary = null;
        // The decoder checks every shard's hash itself: the first try skips our check (a bad copy then costs the
        // decoder one more shard index); the fallbacks check, to pick a good copy among several holders.
        long started = Stopwatch.GetTimestamp();
        if (primary is { } p && await FirstTryAsync(p, hash, destination, cancellationToken).ConfigureAwait(false)) return true;
        // A quick failure is a refused or reset connection, not a timeout: worth one more try later, even when the
        // holder lookup (which may have run on the same broken connection) does not list the node.
        bool primaryFailedQuickly = primary is not null && Stopwatch.GetElapsedTime(started) < _client.ShardTimeout / 2;
        var holders = await state.Holders(cancellationToken).ConfigureAwait(false);
        // A holder that just said it has the shard and then failed was most likely cut off mid-call (a reset
        // connection, a lost answer): each gets a second try before the shard counts as missing; with up to m holders
        // of the segment down, one such glitch must not lose the segment.
        for (int round = 0; round < 2; round++)
        {
            foreach (var holder in holders.ByShard[shard])
            {
                if (round == 0 && primary is { } q && holder.Id == q.Id) continue;
                if (await _client.GetAsync(holder, hash, destination, cancellationToken).ConfigureAwait(false)) return true;
            }

            if (round == 0 && primaryFailedQuickly && primary is { } again && !holders.ByShard[shard].Any(h => h.Id == again.Id)
                && await _client.GetAsync(again, hash, destination, cancellationToken).ConfigureAwait(false))
                return true;
        }

        // Last, the nodes the table names that the holder lookup left out: a lookup does not wait for peers that failed
        // a while ago (it only probes them), and after a partition heals the far side's nodes count as failing for a
        // while, so the lookup can miss exactly the nodes that hold a file stored on that side.
        foreach (var holder in (await state.OutsideHolders(cancellationToken).ConfigureAwait(false)).ByShard[shard])
            if (await _client.GetAsync(holder, hash, destination, cancellationToken).ConfigureAwait(false))
                return true;
        return false;
    }

    /// <summary>One GET_SHARD inside the window: waits for room (first come, first served, so earlier segments go first).</summary>
    private async Task<bool> FirstTryAsync(PeerContact holder, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
    {
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            HighWater.Raise(ref _mostInWindow, Interlocked.Increment(ref _inWindow));
            return await _client.FetchAsync(holder, hash, destination, cancellationToken, verify: false).ConfigureAwait(false) == ShardFetch.Fetched;
        }
        finally
        {
            Interlocked.Decrement(ref _inWindow);
            _window.Release();
        }
    }

    private sealed class SegmentState(MeshShardSource owner, int segment)
    {
        private readonly Lock _lock = new();
        private Task<List<PeerContact>>? _candidates;

        /// <summary>Where placement most likely put the shards, from the local routing table (no round trip).</summary>
        public List<PeerContact> Guess { get; } = owner._placement.LocalClosest(Placement.SegmentKey(owner._manifest, segment));
        private Task<SegmentHolders>? _holders;
        private Task<SegmentHolders>? _outside;

        public Task<List<PeerContact>> Candidates(CancellationToken cancellationToken)
        {
            lock (_lock)
                return _candidates ??= owner._placement.ClosestAsync(Placement.SegmentKey(owner._manifest, segment), cancellationToken);
        }

        public Task<SegmentHolders> Holders(CancellationToken cancellationToken)
        {
            var candidates = Candidates(cancellationToken);
            lock (_lock)
                return _holders ??= LocateAsync(candidates, cancellationToken);
        }

        /// <summary>Holders among the table's closest nodes (<see cref="Guess"/>) that the lookup's candidates left out; asked once, when a shard is found nowhere else.</summary>
        public Task<SegmentHolders> OutsideHolders(CancellationToken cancellationToken)
        {
            lock (_lock)
                return _outside ??= LocateOutsideAsync(cancellationToken);
        }

        private async Task<SegmentHolders> LocateOutsideAsync(CancellationToken cancellationToken)
        {
            var asked = await Candidates(cancellationToken).ConfigureAwait(false);
            return await SegmentHolders.LocateOutsideAsync(owner._client, Guess, asked, Placement.SegmentHashes(owner._manifest, segment), cancellationToken).ConfigureAwait(false);
        }

        private async Task<SegmentHolders> LocateAsync(Task<List<PeerContact>> lookup, CancellationToken cancellationToken)
        {
            var candidates = await lookup.ConfigureAwait(false);
            return await SegmentHolders.LocateAsync(owner._client, candidates, Placement.SegmentHashes(owner._manifest, segment), cancellationToken).ConfigureAwait(false);
        }
    }
}
