using System.Security.Cryptography;
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
/// <para>
/// What one answer can cost is bounded: at most k of its closer peers are read (the rest are ignored), only those at
/// addresses the node's <see cref="PeerAddressFilter"/> allows, and once <see cref="DhtOptions.MaxFailedReferralsPerPeer"/>
/// of the peers one responder named have failed (and more failed than answered), the responder is no longer believed:
/// the peers only it named are dropped, and the lookup does not wait for those still in flight. (The responder itself
/// stays in the result if it is among the closest: it did answer.)
/// </para>
/// <para>
/// A peer whose last request failed a short while ago (<see cref="RoutingTable.FailedRecently"/>: down, or on
/// the far side of a partition) is still asked, as a probe, but not waited for: the lookup ends without it once the
/// others are done, unless none of the peers asked as usual answered (then it waits for the probes too). A probe that
/// answers in time counts as any answer (and clears the record); one that fails renews it. So a partition costs one
/// lookup its deadlines per peer, not every lookup. One probe per peer is in flight at a time, for all lookups
/// (<see cref="DhtNode.TryStartProbe"/>): a lookup that wants a peer another lookup is probing waits for that probe's
/// outcome, as for its own, and if the peer answered asks it its own question.
/// </para>
/// </summary>
internal sealed class NodeLookup
{
    private const int MaxAttempts = 2;

    private readonly DhtNode _node;
    private readonly NodeId _target;
    private readonly bool _wantValue;
    private readonly bool _wide;
    private readonly uint? _recordType;
    private readonly List<Candidate> _ordered = [];
    private readonly Dictionary<NodeId, Candidate> _known = [];
    private readonly List<ValueRecord> _records = [];
    private int _distrusted;

    private NodeLookup(DhtNode node, NodeId target, bool wantValue, bool wide, uint? recordType)
    {
        _node = node;
        _target = target;
        _wantValue = wantValue;
        _wide = wide;
        _recordType = recordType;
    }

    /// <summary>Runs a lookup. A value lookup with <paramref name="recordType"/> set believes only records of that type
    /// and may stop at the first valid IMMUTABLE one; without it, it runs to completion and the validator picks among
    /// every valid record it saw, so that no record of one type can hide a record of another.</summary>
    public static Task<LookupResult> RunAsync(DhtNode node, NodeId target, bool wantValue, CancellationToken cancellationToken, bool wide = false,
        uint? recordType = null) =>
        new NodeLookup(node, target, wantValue, wide, recordType).RunAsync(cancellationToken);

    private async Task<LookupResult> RunAsync(CancellationToken cancellationToken)
    {
        var options = _node.Options;
        // The k closest, and as many beyond them as there are peers among them that failed recently (probes only).
        foreach (var c in _node.Table.Closest(_target, options.K)) Add(c, referrer: null);
        foreach (var c in _node.Table.ClosestAnswering(_target, options.K)) Add(c, referrer: null);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.LookupTimeout);
        var completions = Channel.CreateUnbounded<(Candidate Peer, Response? Response, bool Retry)>(new UnboundedChannelOptions { SingleReader = true });
        int inFlight = 0, queried = 0, failed = 0;
        int dropped = 0; // of the requests in flight, those to peers dropped since
        int probes = 0; // requests in flight to peers that failed recently: not waited for while others answer
        bool complete = true;
        bool truncated = false; // an answer named k peers or more: its responder may know more than it said
        int parallelism = _wide ? options.K : options.Alpha;
        try
        {
            while (true)
            {
                while (NextToQuery() is { } next && (next.Suspect || inFlight < parallelism))
                {
                    next.State = State.InFlight;
                    queried++;
                    if (next.Suspect)
                    {
                        // One probe per peer at a time, whatever number of lookups want it: a lookup that finds one in
                        // flight waits for its outcome (as for a probe of its own) instead of giving the peer up. When
                        // most peers failed a moment ago (every connection dialled again under load), the peers other
                        // lookups probe are most of what this one can ask.
                        next.Probing = true;
                        probes++;
                        _ = _node.TryStartProbe(next.Contact.Id, out var outcome)
                            ? ProbeAsync(next, completions.Writer)
                            : AfterProbeAsync(next, outcome, completions.Writer, cancellationToken);
                        continue;
                    }
                    inFlight++;
                    _ = QueryAsync(next, completions.Writer, deadline.Token);
                }
                // Requests still in flight to peers dropped with a distrusted referrer are not waited for, nor probes
                // once a peer asked as usual answered. While only probes answered, the rest are waited for too: a table
                // whose peers all failed a moment ago (a node whose connections were all dialled again under load) holds
                // no other peers to ask, and ending at the first probe's answer would return one node out of k.
                if (inFlight == dropped && (probes == 0 || _ordered.Exists(c => c.State == State.Answered && !c.Suspect))) break;
                var (peer, response, retry) = await completions.Reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                bool wasProbe = peer.Probing;
                if (wasProbe)
                {
                    peer.Probing = false;
                    probes--;
                }
                else
                {
                    inFlight--;
                }
                parallelism = options.Alpha; // Only the first round is wide; later rounds follow the closest answers.
                if (peer.State == State.Dropped)
                {
                    if (!wasProbe) dropped--;
                    continue;
                }
                if (response is null)
                {
                    failed++;
                    // A timeout may be a lost message: ask once more before giving the peer up, as a probe (its failure
                    // is on record now: a lookup whose first round met a partition must not wait out a second deadline
                    // per cut-off peer, α at a time). A refused or misbehaving peer is not asked again, nor is a probe.
                    bool again = retry && !peer.Suspect && ++peer.Attempts < MaxAttempts;
                    peer.State = again ? State.NotQueried : State.Failed;
                    if (again) peer.Suspect = true;
                    // A peer counts once against those who named it, at its first failure (a retry is not another lie).
                    if (++peer.Failures == 1) dropped += ReferralFailed(peer);
                    continue;
                }
                peer.State = State.Answered;
                foreach (var referrer in peer.Referrers) referrer.ReferralsAnswered++;
                var closer = _wantValue ? response.FindValue.CloserPeers : response.FindNode.CloserPeers;
                truncated |= closer.Count >= options.K;
                // At most k per answer, in the order given: a longer list costs nothing beyond the first k.
                for (int i = 0; i < closer.Count && i < options.K; i++)
                {
                    if (PeerContact.TryFromWire(closer[i], out var contact) && contact.Id != _node.Self.Id
                        && _node.AddressFilter.Allows(contact.EndPoint.Address))
                        Add(contact, peer);
                }
                if (_wantValue && response.FindValue.Record is { } record && Accept(record)
                    && record.Kind == RecordKind.Immutable && _recordType == record.Type)
                    break; // An immutable record of the type asked for cannot be outdated: the first valid copy is the answer.
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            complete = false; // The lookup's deadline passed: return what we have.
        }
        finally
        {
            // Stops the requests nobody waits for any more.
            await deadline.CancelAsync().ConfigureAwait(false);
        }

        var answered = _ordered.Where(c => c.State == State.Answered).Take(options.K).ToList();
        // Peers that may be closer than those returned but did not answer (failed, or still to ask when the deadline
        // passed): with fewer than k answers any of them; peers named only by a distrusted referrer do not count.
        var farthest = answered.Count < options.K ? (NodeId?)null : answered[^1].Distance;
        int unanswered = _ordered.Count(c => c.State is State.Failed or State.NotQueried or State.InFlight
            && (farthest is null || c.Distance.CompareTo(farthest.Value) < 0));
        // Every peer learned of answered, each answer was all its responder knows, and fewer than k answered (so the
        // result holds all of them, not only the k closest to this target): nothing more can be found, whatever the target.
        bool exhaustive = complete && failed == 0 && !truncated && _ordered.Count < options.K
            && _ordered.TrueForAll(c => c.State == State.Answered);
        int rounds = _ordered.Where(c => c.State is State.Answered or State.Failed).Select(c => c.Depth).DefaultIfEmpty(0).Max();
        DhtMetrics.Lookups.Add(1);
        if (!complete) DhtMetrics.PartialLookups.Add(1);
        DhtMetrics.Rounds.Record(rounds);
        DhtMetrics.Requests.Record(queried);
        return new LookupResult
        {
            Closest = answered.Select(c => c.Contact).ToList(),
            Record = SelectRecord(),
            Complete = complete,
            Rounds = rounds,
            HopsToClosest = answered.Count > 0 ? answered[0].Depth : 0,
            Queried = queried,
            Failed = failed,
            Unanswered = unanswered,
            Distrusted = _distrusted,
            Exhaustive = exhaustive,
        };
    }

    private bool Accept(ValueRecord record)
    {
        if (!record.Key.Span.SequenceEqual(_target.ToByteArray())) return false;
        if (_recordType is { } type && record.Type != type) return false;
        try
        {
            _node.Validator.Validate(record);
        }
        catch (Exception ex) when (ex is MeshStorageException or ArgumentException)
        {
            return false; // A peer handing out a forged record is ignored, not trusted.
        }
        if (!_records.Contains(record)) _records.Add(record);
        return true;
    }

    /// <summary>
    /// The validator's pick among every distinct valid record seen, folded in an order fixed by the records' contents,
    /// not by which peer answered first.
    /// </summary>
    private ValueRecord? SelectRecord()
    {
        if (_records.Count <= 1) return _records.FirstOrDefault();
        var ordered = _records.Select(r => (Digest: SHA256.HashData(r.ToByteArray()), Record: r))
            .OrderBy(r => r.Digest, ByteOrder.Instance).Select(r => r.Record);
        ValueRecord? best = null;
        foreach (var record in ordered) best = best is null ? record : _node.Validator.Select(best, record);
        return best;
    }

    /// <summary>
    /// A peer failed: the peers that named it share the blame (one failure split between them), and one whose share
    /// reaches <see cref="DhtOptions.MaxFailedReferralsPerPeer"/>, and exceeds the referrals of its that answered, is
    /// distrusted. Splitting matters under churn: a dead node that every neighbour of the target still lists must not get
    /// them all distrusted at once, while a liar's made-up peers are its alone (and liars that name each other's split
    /// the same total). Returns how many requests in flight went to peers dropped with it.
    /// </summary>
    private int ReferralFailed(Candidate peer)
    {
        int droppedInFlight = 0;
        double share = 1.0 / Math.Max(1, peer.Referrers.Count);
        foreach (var referrer in peer.Referrers)
        {
            if (referrer.Distrusted) continue;
            referrer.ReferralsFailed += share;
            if (referrer.ReferralsFailed >= _node.Options.MaxFailedReferralsPerPeer - 1e-9 && referrer.ReferralsFailed > referrer.ReferralsAnswered)
                droppedInFlight += Distrust(referrer);
        }
        return droppedInFlight;
    }

    /// <summary>Drops the peers only a lying referrer named (those not yet answered); returns how many were in flight.</summary>
    private int Distrust(Candidate liar)
    {
        liar.Distrusted = true;
        _distrusted++;
        int inFlight = 0;
        foreach (var c in _ordered)
        {
            if ((c.State is State.NotQueried or State.InFlight) && c.Referrers.Count > 0 && c.Referrers.TrueForAll(r => r.Distrusted))
            {
                if (c.State == State.InFlight && !c.Probing) inFlight++;
                c.State = State.Dropped;
            }
        }
        return inFlight;
    }

    /// <summary>Asks the peer this lookup's question and hands the outcome to the lookup; true when it answered.</summary>
    private async Task<bool> QueryAsync(Candidate peer, ChannelWriter<(Candidate, Response?, bool)> done, CancellationToken cancellationToken)
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
        return response is not null;
    }

    /// <summary>
    /// The probe of a peer that failed recently, which other lookups may be waiting for (<see cref="DhtNode.TryStartProbe"/>).
    /// It has its own request deadline and no lookup's token: neither this lookup's deadline nor its caller's cancellation
    /// may cut short what the others wait for, and its answer or failure reaches the routing table after the lookup is over.
    /// </summary>
    private async Task ProbeAsync(Candidate peer, ChannelWriter<(Candidate, Response?, bool)> done)
    {
        bool answered = false;
        try
        {
            answered = await QueryAsync(peer, done, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _node.EndProbe(peer.Contact.Id, answered);
        }
    }

    /// <summary>
    /// Another lookup's probe of the peer is in flight: waits for its outcome. If the peer answered, it is alive, and is
    /// asked this lookup's own question (the probe's answer was for another target); if not, it failed for this lookup too.
    /// </summary>
    private async Task AfterProbeAsync(Candidate peer, Task<bool> probe, ChannelWriter<(Candidate, Response?, bool)> done,
        CancellationToken cancellationToken)
    {
        if (await probe.ConfigureAwait(false)) await QueryAsync(peer, done, cancellationToken).ConfigureAwait(false);
        else done.TryWrite((peer, null, false));
    }

    /// <summary>The closest peer not yet asked among the k closest that have not failed; null when the k closest have
    /// all answered or are in flight. Probes in flight do not count among the k: the peers after them are asked too.</summary>
    private Candidate? NextToQuery()
    {
        int live = 0;
        foreach (var c in _ordered)
        {
            if (c.State is State.Failed or State.Dropped) continue;
            if (c.State == State.NotQueried) return c;
            if (c.State == State.InFlight && c.Probing) continue;
            if (++live >= _node.Options.K) return null;
        }
        return null;
    }

    private void Add(PeerContact contact, Candidate? referrer)
    {
        if (_known.TryGetValue(contact.Id, out var known))
        {
            // A peer from our own table owes nothing to those who name it again: they are not blamed if it fails, and it
            // is never dropped with them.
            if (referrer is not null && known.Depth > 1 && (known.State is State.NotQueried or State.InFlight) && !known.Referrers.Contains(referrer))
                known.Referrers.Add(referrer);
            return;
        }
        var candidate = new Candidate(contact, referrer is null ? 1 : referrer.Depth + 1, _target.DistanceTo(contact.Id))
        {
            Suspect = _node.Table.FailedRecently(contact.Id),
        };
        if (referrer is not null) candidate.Referrers.Add(referrer);
        _known.Add(contact.Id, candidate);
        int at = _ordered.BinarySearch(candidate, CandidateOrder.Instance);
        _ordered.Insert(at < 0 ? ~at : at, candidate);
    }

    private enum State { NotQueried, InFlight, Answered, Failed, Dropped }

    private sealed class Candidate(PeerContact contact, int depth, NodeId distance)
    {
        public PeerContact Contact { get; } = contact;
        public int Depth { get; } = depth;
        public NodeId Distance { get; } = distance;
        public State State { get; set; }
        public int Attempts { get; set; }
        public int Failures { get; set; }

        /// <summary>Its last request failed a short while ago (<see cref="RoutingTable.FailedRecently"/>), or timed out in this
        /// lookup: asked as a probe.</summary>
        public bool Suspect { get; set; }

        /// <summary>A probe to it is in flight.</summary>
        public bool Probing { get; set; }

        /// <summary>The peers that named this one; none for a peer from our own table (depth 1).</summary>
        public List<Candidate> Referrers { get; } = [];

        public int ReferralsAnswered { get; set; }
        public double ReferralsFailed { get; set; }
        public bool Distrusted { get; set; }
    }

    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();
        public int Compare(Candidate? x, Candidate? y) => x!.Distance.CompareTo(y!.Distance);
    }

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
