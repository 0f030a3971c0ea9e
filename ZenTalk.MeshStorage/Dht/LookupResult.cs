using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>What an iterative lookup found.</summary>
internal sealed class LookupResult
{
    /// <summary>Peers that answered, closest to the target first (at most k).</summary>
    public required List<PeerContact> Closest { get; init; }

    /// <summary>The best valid record found (value lookups only).</summary>
    public ValueRecord? Record { get; init; }

    /// <summary>False when the lookup's deadline passed first: <see cref="Closest"/> is then a partial result.</summary>
    public bool Complete { get; init; }

    /// <summary>Length of the longest chain of sequential requests the lookup made (1 = only peers from our own table).</summary>
    public int Rounds { get; init; }

    /// <summary>How many hops away the closest peer was learned (1 = it was in our own table).</summary>
    public int HopsToClosest { get; init; }

    /// <summary>Requests sent.</summary>
    public int Queried { get; init; }

    /// <summary>Requests that failed or timed out.</summary>
    public int Failed { get; init; }

    /// <summary>
    /// Peers the lookup heard of that may be closer to the target than the farthest of <see cref="Closest"/> (any peer,
    /// when it holds fewer than k) but did not answer: they failed, or were still to be asked when the deadline passed.
    /// Zero means <see cref="Closest"/> are the closest nodes this lookup could know of; more means some of those may be missing.
    /// </summary>
    public int Unanswered { get; init; }

    /// <summary>Responders no longer believed because the peers they named failed (see <see cref="NodeLookup"/>).</summary>
    public int Distrusted { get; init; }

    /// <summary>
    /// Whether the lookup saw every node it can reach: it ran to the end, every peer it learned of answered, none failed,
    /// every answer named fewer than k peers (all its responder knows), and fewer than k peers answered in all.
    /// <see cref="Closest"/> then holds every node any lookup from this node would find, whatever its target, while the
    /// mesh does not change.
    /// </summary>
    public bool Exhaustive { get; init; }
}
