using System.Threading.Channels;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Kademlia's iterative lookup. Starts from the k closest peers in our table, keeps up to α requests in flight
/// to the closest peers not yet asked, and ends when the k closest peers seen (that did not fail) have all
/// answered, or when no peer is left to ask. Each request has its own timeout; when the lookup's deadline
/// passes, it returns the closest peers that answered so far, marked incomplete. A <em>wide</em> lookup asks all
/// k starting peers at once instead of α: k messages instead of α in the first round, for one round trip less per
/// round saved — what a store or read on the latency path wants (in a mesh where the table already holds the k
/// closest, the lookup is then one round trip).
/// </summary>
internal sealed class NodeLookup
{
    private readonly DhtNode _node;
    private readonly NodeId _target;
    private readonly bool _wantValue;
    private readonly bool _wide;
    private readonly List<Candidate> _ordered = [];
    private readonly Dictionary<NodeId, Candidate> _known = [];
    private ValueRecord? _record;

    private NodeLookup(DhtNode node, NodeId target, bool wantValue, bool wide)
    {
        _node = node;
        _target = target;
        _wantValue = wantValue;
        _wide = wide;
    }

    public static Task<LookupResult> RunAsync(DhtNode node, NodeId target, bool wantValue, CancellationToken cancellationToken, bool wide = false) =>
        new NodeLookup(node, target, wantValue, wide).RunAsync(cancellationToken);

    private async Task<LookupResult> RunAsync(CancellationToken cancellationToken)
    {
        var options = _node.Options;
        foreach (var c in _node.Table.Closest(_target, options.K)) Add(c, depth: 1);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.LookupTimeout);
        var completions = Channel.CreateUnbounded<(Candidate Peer, Response? Response, bool Retry)>(new UnboundedChannelOptions { SingleReader = true });
        int inFlight = 0, queried = 0, failed = 0;
        bool complete = true;
        int parallelism = _wide ? options.K : options.Alpha;
        try
        {
            while (true)
            {
                while (inFlight < parallelism && NextToQuery() is { } next)
                {
                    next.State = State.InFlight;
                    inFlight++;
                    queried++;
                    _ = QueryAsync(next, completions.Writer, deadline.Token);
                }
                if (inFlight == 0) break;
                var (peer, response, retry) = await completions.Reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                inFlight--;
                parallelism = options.Alpha; // Only the first round is wide; later rounds follow the closest answers.
                if (response is null)
                {
                    failed++;
                    // A timeout may be a lost message: ask once more before giving the peer up. A refused or
                    // misbehaving peer is not asked again.
                    peer.State = retry && ++peer.Attempts < MaxAttempts ? State.NotQueried : State.Failed;
                    continue;
                }
                peer.State = State.Answered;
                var closer = _wantValue ? response.FindValue.CloserPeers : response.FindNode.CloserPeers;
                foreach (var info in closer)
                    if (PeerContact.TryFromWire(info, out var contact) && contact.Id != _node.Self.Id)
                        Add(contact, peer.Depth + 1);
                if (_wantValue && response.FindValue.Record is { } record && Accept(record) && record.Kind == RecordKind.Immutable)
                    break; // An immutable record cannot be outdated: the first valid copy is the answer.
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            complete = false; // The lookup's deadline passed: return what we have.
        }

        var answered = _ordered.Where(c => c.State == State.Answered).Take(options.K).ToList();
        int rounds = _ordered.Where(c => c.State is State.Answered or State.Failed).Select(c => c.Depth).DefaultIfEmpty(0).Max();
        DhtMetrics.Lookups.Add(1);
        if (!complete) DhtMetrics.PartialLookups.Add(1);
        DhtMetrics.Rounds.Record(rounds);
        DhtMetrics.Requests.Record(queried);
        return new LookupResult
        {
            Closest = answered.Select(c => c.Contact).ToList(),
            Record = _record,
            Complete = complete,
            Rounds = rounds,
            HopsToClosest = answered.Count > 0 ? answered[0].Depth : 0,
            Queried = queried,
            Failed = failed,
        };
    }

    private bool Accept(ValueRecord record)
    {
        if (!record.Key.Span.SequenceEqual(_target.ToByteArray())) return false;
        try
        {
            _node.Validator.Validate(record);
        }
        catch (Exception ex) when (ex is MeshStorageException or ArgumentException)
        {
            return false; // A peer handing out a forged record is ignored, not trusted.
        }
        _record = _record is null ? record : _node.Validator.Select(_record, record);
        return true;
    }

    private const int MaxAttempts = 2;

    private async Task QueryAsync(Candidate peer, ChannelWriter<(Candidate, Response?, bool)> done, CancellationToken cancellationToken)
    {
        Response? response = null;
        bool retry = false;
        try
        {
            var key = ByteString.CopyFrom(_target.ToByteArray());
            var request = _wantValue
                ? new Request { FindValue = new FindValueRequest { Key = key } }
                : new Request { FindNode = new FindNodeRequest { Target = key } };
            response = await _node.CallAsync(peer.Contact, request, cancellationToken).ConfigureAwait(false);
            if (response.KindCase != (_wantValue ? Response.KindOneofCase.FindValue : Response.KindOneofCase.FindNode))
                response = null;
        }
#pragma warning disable CA1031 // Whatever went wrong with one peer, the lookup must hear back from this query or it would wait for its deadline.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            response = null; // DhtNode.CallAsync already counted the failure against the peer.
            retry = ex is TimeoutException;
        }
        done.TryWrite((peer, response, retry));
    }

    /// <summary>The closest peer not yet asked among the k closest that have not failed; null when the k closest have all answered or are in flight.</summary>
    private Candidate? NextToQuery()
    {
        int live = 0;
        foreach (var c in _ordered)
        {
            if (c.State == State.Failed) continue;
            if (c.State == State.NotQueried) return c;
            if (++live >= _node.Options.K) return null;
        }
        return null;
    }

    private void Add(PeerContact contact, int depth)
    {
        if (_known.ContainsKey(contact.Id)) return;
        var candidate = new Candidate(contact, depth, _target.DistanceTo(contact.Id));
        _known.Add(contact.Id, candidate);
        int at = _ordered.BinarySearch(candidate, CandidateOrder.Instance);
        _ordered.Insert(at < 0 ? ~at : at, candidate);
    }

    private enum State { NotQueried, InFlight, Answered, Failed }

    private sealed class Candidate(PeerContact contact, int depth, NodeId distance)
    {
        public PeerContact Contact { get; } = contact;
        public int Depth { get; } = depth;
        public NodeId Distance { get; } = distance;
        public State State { get; set; }
        public int Attempts { get; set; }
    }

    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();
        public int Compare(Candidate? x, Candidate? y) => x!.Distance.CompareTo(y!.Distance);
    }
}
