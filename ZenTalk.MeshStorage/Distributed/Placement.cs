using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Where shards live. Each segment has a key that anyone with the manifest can compute (<see cref="SegmentKey(Manifest, int)"/>);
/// its shards go to the k + m nodes closest to that key (shard j to the j-th closest), found by a DHT lookup at store
/// time and again at read time. Nodes that do not store for others (clients) never enter routing tables, so they are
/// never chosen.
/// </summary>
internal sealed class Placement
{
    private static ReadOnlySpan<byte> Domain => "zentalk-segment-v1\0"u8;

    private readonly DhtNode _dht;
    private readonly bool _selfStores;

    public Placement(DhtNode dht, bool selfStores)
    {
        _dht = dht;
        _selfStores = selfStores;
    }

    public int Width => _dht.Options.K;

    /// <summary>
    /// The placement rule, used by the store, the read path's fallback, status, delete and repair alike: the key a
    /// segment's shards are placed by. A file of one segment is placed by its CID digest (the key its manifest record
    /// lives under), so the nodes closest to the CID hold both the manifest and the shards, and a reader asks for the
    /// shards in the same round as the manifest (<see cref="ShardsWithManifest"/>); a segment of a larger file by
    /// <see cref="ShardsKey"/> of its shard hashes, which spreads a file's segments over the mesh.
    /// </summary>
    public static NodeId SegmentKey(Manifest manifest, int segment) =>
        manifest.SegmentCount == 1 ? FileRecords.KeyOf(manifest.Cid) : ShardsKey(SegmentHashes(manifest, segment));

    /// <summary>
    /// SHA-256("zentalk-segment-v1" 0x00 ‖ the segment's k + m shard hashes): the segment key of a segment of a file of
    /// more than one segment (<see cref="SegmentKey(Manifest, int)"/>). A store places such segments with it before the
    /// manifest exists.
    /// </summary>
    public static NodeId ShardsKey(ReadOnlySpan<Sha256Hash> hashes)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(Domain);
        Span<byte> buffer = stackalloc byte[Sha256Hash.Size];
        foreach (var hash in hashes)
        {
            hash.CopyTo(buffer);
            h.AppendData(buffer);
        }

        Span<byte> digest = stackalloc byte[Sha256Hash.Size];
        h.GetHashAndReset(digest);
        return new NodeId(digest);
    }

    public static Sha256Hash[] SegmentHashes(Manifest manifest, int segment)
    {
        var hashes = new Sha256Hash[manifest.TotalShards];
        for (int j = 0; j < hashes.Length; j++) hashes[j] = manifest.ShardHash(segment, j);
        return hashes;
    }

    /// <summary>
    /// The live storing nodes closest to <paramref name="key"/>, closest first (this node included when it stores).
    /// A wide lookup: stores and reads wait for it, so it spends k messages in its first round to save rounds.
    /// </summary>
    public async Task<List<PeerContact>> ClosestAsync(NodeId key, CancellationToken cancellationToken)
    {
        var lookup = await _dht.FindNodeAsync(key, wide: true, cancellationToken).ConfigureAwait(false);
        return WithSelf(lookup.Closest, key);
    }

    /// <summary>
    /// As <see cref="ClosestAsync(NodeId, CancellationToken)"/>, with how many nodes that may be closer did not answer the lookup
    /// (<see cref="LookupResult.Unanswered"/>): while some did not, the nodes returned may not be those that hold the key's shards.
    /// </summary>
    public async Task<(List<PeerContact> Closest, int Unanswered)> ClosestWithUnansweredAsync(NodeId key, CancellationToken cancellationToken)
    {
        var lookup = await _dht.FindNodeAsync(key, wide: true, cancellationToken).ConfigureAwait(false);
        return (WithSelf(lookup.Closest, key), lookup.Unanswered);
    }

    /// <summary>
    /// The nodes closest to a store's segment key, closest first: from <paramref name="view"/> when it holds the whole
    /// mesh (no round trip; <c>FromView</c> is then true), otherwise by a wide lookup, which the view learns from.
    /// </summary>
    public async Task<(List<PeerContact> Closest, bool FromView)> ClosestAsync(NodeId key, WholeMeshView view, CancellationToken cancellationToken)
    {
        if (view.Closest(key) is { } known) return (WithSelf(known, key), true);
        var lookup = await _dht.FindNodeAsync(key, wide: true, cancellationToken).ConfigureAwait(false);
        view.Learn(lookup);
        return (WithSelf(lookup.Closest, key), false);
    }

    /// <summary>
    /// The closest nodes by this node's own routing table, with no network round trip: where a reader asks first.
    /// In a mesh whose nodes all know each other it equals the lookup's answer; when it does not, the reader's
    /// fallback (a real lookup and HAS_SHARDS) finds the shards anyway. A reader skips those that failed recently
    /// (<see cref="FailedRecently"/>) but keeps their places, which were most likely given before they failed.
    /// </summary>
    public List<PeerContact> LocalClosest(NodeId key) => WithSelf(_dht.Table.Closest(key, Width), key);

    /// <summary>
    /// As <see cref="LocalClosest"/>, leaving out the nodes that failed recently: those a lookup does not wait for, so the
    /// places a store's lookup will give now. Where a store sends its early puts, so that none goes to a node that is down
    /// or cut off.
    /// </summary>
    public List<PeerContact> LocalClosestAnswering(NodeId key) => WithSelf(_dht.Table.ClosestAnswering(key, Width), key);

    /// <summary>Whether <paramref name="peer"/>'s last request failed a short while ago (<see cref="RoutingTable.FailedRecently"/>):
    /// down, overloaded or cut off; a request to it would most likely wait out its deadline.</summary>
    public bool FailedRecently(PeerContact peer) => _dht.Table.FailedRecently(peer.Id);

    /// <summary>Adds this node, when it stores, in its place by distance; keeps the k closest.</summary>
    public List<PeerContact> WithSelf(List<PeerContact> closest, NodeId key)
    {
        var list = new List<PeerContact>(closest.Count + 1);
        list.AddRange(closest);
        if (_selfStores && !list.Exists(p => p.Id == _dht.Self.Id))
        {
            int at = list.FindIndex(p => key.CompareDistance(_dht.Self.Id, p.Id) < 0);
            list.Insert(at < 0 ? list.Count : at, _dht.Self);
        }

        if (list.Count > Width) list.RemoveRange(Width, list.Count - Width);
        return list;
    }
}
