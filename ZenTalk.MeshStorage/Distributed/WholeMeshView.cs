using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// One store's knowledge that the mesh has fewer storing nodes than a lookup returns. A segment's lookup that was
/// <see cref="LookupResult.Exhaustive"/> asked every node it could reach, and each of them named every node it knows:
/// the lookup of any other key would ask the same nodes and get the same answers, and return the same nodes, only in
/// another order. So for <see cref="Lifetime"/> after such a lookup, the store's later segments take those nodes,
/// ordered by distance to their own key, instead of spending k round trips each to learn nothing. A put that fails
/// ends the view (the segment looks its key up after all, <see cref="StorePlacementSink"/>), and so does time: a node
/// that joins later is found by the next lookup, as one that joins just after a segment's own lookup would be. In a
/// mesh of k or more storing nodes no lookup is exhaustive, and every segment looks up its own key.
/// </summary>
internal sealed class WholeMeshView(TimeProvider time)
{
    /// <summary>How long an exhaustive lookup stands for the whole mesh: short against churn, long against one store
    /// of tens of megabytes (a 64 MiB store takes about a second on loopback).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private List<PeerContact>? _nodes;
    private long _seenAt;

    /// <summary>Keeps the lookup's nodes when it saw the whole mesh.</summary>
    public void Learn(LookupResult lookup)
    {
        if (!lookup.Exhaustive || lookup.Closest.Count == 0) return;
        lock (_lock)
        {
            _nodes = lookup.Closest;
            _seenAt = time.GetTimestamp();
        }
    }

    /// <summary>Drops the view (a node it names failed).</summary>
    public void Forget()
    {
        lock (_lock) _nodes = null;
    }

    /// <summary>Every node of the mesh closest to <paramref name="key"/> first, or null when there is no view younger
    /// than <see cref="Lifetime"/>.</summary>
    public List<PeerContact>? Closest(NodeId key)
    {
        List<PeerContact> nodes;
        lock (_lock)
        {
            if (_nodes is null || time.GetElapsedTime(_seenAt) > Lifetime) return null;
            nodes = [.. _nodes];
        }

        nodes.Sort((a, b) => key.CompareDistance(a.Id, b.Id));
        return nodes;
    }
}
