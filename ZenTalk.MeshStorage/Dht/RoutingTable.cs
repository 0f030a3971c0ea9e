using System.Net;
using System.Net.Sockets;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// The Kademlia routing table: 256 buckets indexed by the length of the prefix an id shares with ours, each
/// holding at most k peers ordered least-recently-seen first, plus a replacement cache. A full bucket does not
/// drop its oldest peer for a new one: the caller pings the oldest and only a failed ping evicts it
/// (long-lived peers are the most likely to stay). At most <see cref="DhtOptions.MaxPerSubnetPerBucket"/> peers
/// of a bucket share a /24 (IPv4) or /64 (IPv6), so one network cannot fill a bucket.
/// Only peers that proved their id at their address are added: they answered us there (a caller is pinged back at
/// the address it claims first, see <see cref="DhtNode"/>).
/// </summary>
internal sealed class RoutingTable
{
    private readonly NodeId _self;
    private readonly DhtOptions _options;
    private readonly TimeProvider _time;
    private readonly Bucket?[] _buckets = new Bucket?[NodeId.Bits];
    private readonly Lock _lock = new();
    private int _count;

    public RoutingTable(NodeId self, DhtOptions options, TimeProvider time)
    {
        _self = self;
        _options = options;
        _time = time;
    }

    /// <summary>Result of <see cref="Update"/>.</summary>
    public enum UpdateResult { Added, Refreshed, BucketFull, Rejected }

    /// <summary>Peers in the table.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The bucket index for an id: the number of leading bits it shares with ours (0..255).</summary>
    public int BucketIndex(NodeId id) => Math.Min(_self.DistanceTo(id).LeadingZeroCount(), NodeId.Bits - 1);

    /// <summary>
    /// Records that <paramref name="contact"/> is alive. Returns <see cref="UpdateResult.BucketFull"/> with the
    /// least-recently-seen peer of the bucket in <paramref name="pingCandidate"/>: ping it, then call
    /// <see cref="ResolvePing"/>.
    /// </summary>
    public UpdateResult Update(PeerContact contact, out PeerContact pingCandidate)
    {
        pingCandidate = default;
        if (contact.Id == _self) return UpdateResult.Rejected;
        int index = BucketIndex(contact.Id);
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            var bucket = _buckets[index] ??= new Bucket();
            bucket.LastTouched = now;
            int at = bucket.IndexOf(contact.Id);
            if (at >= 0)
            {
                var entry = bucket.Entries[at];
                bucket.Entries.RemoveAt(at);
                // A proven id at a new address moved (new port after restart): keep the newest address.
                entry.Contact = contact;
                entry.Failures = 0;
                entry.LastFailed = 0;
                entry.LastSeen = now;
                bucket.Entries.Add(entry);
                return UpdateResult.Refreshed;
            }
            if (!DiversityAllows(bucket.Entries, contact, ignore: null))
                return UpdateResult.Rejected;
            if (bucket.Entries.Count < _options.K)
            {
                bucket.Entries.Add(new Entry { Contact = contact, LastSeen = now });
                _count++;
                return UpdateResult.Added;
            }
            AddReplacement(bucket, contact);
            pingCandidate = bucket.Entries[0].Contact;
            return UpdateResult.BucketFull;
        }
    }

    /// <summary>
    /// Refreshes <paramref name="contact"/> if the table (or a bucket's replacement cache) already holds it at this very
    /// address, as <see cref="Update"/> would; returns false when it is unknown or known at another address (then it has
    /// to prove the address first).
    /// </summary>
    public bool Refresh(PeerContact contact)
    {
        if (contact.Id == _self) return false;
        lock (_lock)
        {
            var bucket = _buckets[BucketIndex(contact.Id)];
            if (bucket is null) return false;
            int at = bucket.IndexOf(contact.Id);
            if (at >= 0)
            {
                var entry = bucket.Entries[at];
                if (!entry.Contact.EndPoint.Equals(contact.EndPoint)) return false;
                bucket.Entries.RemoveAt(at);
                entry.Failures = 0;
                entry.LastFailed = 0;
                entry.LastSeen = _time.GetTimestamp();
                bucket.Entries.Add(entry);
                return true;
            }
            int r = bucket.Replacements.IndexOf(contact);
            if (r < 0) return false;
            bucket.Replacements.RemoveAt(r);
            bucket.Replacements.Add(contact);
            return true;
        }
    }

    /// <summary>How many peers in the table are closer to <paramref name="target"/> than <paramref name="than"/>,
    /// counting up to <paramref name="limit"/>.</summary>
    public int CountCloser(NodeId target, NodeId than, int limit)
    {
        int closer = 0;
        lock (_lock)
        {
            foreach (var bucket in _buckets)
            {
                if (bucket is null) continue;
                foreach (var e in bucket.Entries)
                    if (target.CompareDistance(e.Contact.Id, than) < 0 && ++closer >= limit) return closer;
            }
        }
        return closer;
    }

    /// <summary>
    /// After the ping of a full bucket's oldest peer: if it answered, it moves to the tail and the newcomer stays
    /// in the replacement cache; if it failed, it is evicted and the newest replacement takes its place.
    /// </summary>
    public void ResolvePing(PeerContact oldest, bool answered)
    {
        if (answered)
        {
            Update(oldest, out _);
            return;
        }
        Remove(oldest.Id);
    }

    /// <summary>
    /// Counts a failed request. After <see cref="DhtOptions.MaxFailures"/> in a row the peer is replaced — but only
    /// when a replacement is waiting (Kademlia's rule). With none, it stays, marked by its failures: a partition
    /// fails every peer at once, and a table that dropped them all would have nobody left to ask when it heals (a
    /// cut-off node would empty its own table, and every other node would forget it, so no lookup would find it
    /// again). The next request that succeeds clears the count.
    /// </summary>
    public void RecordFailure(NodeId id)
    {
        lock (_lock)
        {
            var bucket = _buckets[BucketIndex(id)];
            if (bucket is null) return;
            int at = bucket.IndexOf(id);
            if (at < 0)
            {
                bucket.Replacements.RemoveAll(r => r.Id == id);
                return;
            }
            var entry = bucket.Entries[at];
            entry.LastFailed = Math.Max(1, _time.GetTimestamp());
            if (++entry.Failures >= _options.MaxFailures && bucket.Replacements.Count > 0) RemoveAt(bucket, at);
        }
    }

    /// <summary>
    /// Whether the peer's last request failed (<see cref="RecordFailure"/>) less than <see cref="DhtOptions.FailureMemory"/>
    /// ago, with no answer from it since: it is down, overloaded, or on the far side of a partition. Lookups still ask
    /// such a peer but do not wait for it, and a store sends it nothing before a lookup confirms it. False for a peer
    /// the table does not hold.
    /// </summary>
    public bool FailedRecently(NodeId id)
    {
        lock (_lock)
        {
            var bucket = _buckets[BucketIndex(id)];
            int at = bucket?.IndexOf(id) ?? -1;
            return at >= 0 && IsFailing(bucket!.Entries[at], _time.GetTimestamp());
        }
    }

    private bool IsFailing(Entry entry, long now) =>
        entry.LastFailed != 0 && _time.GetElapsedTime(entry.LastFailed, now) < _options.FailureMemory;

    /// <summary>Removes a peer now (e.g. it failed the eviction ping).</summary>
    public void Remove(NodeId id)
    {
        lock (_lock)
        {
            var bucket = _buckets[BucketIndex(id)];
            if (bucket is null) return;
            int at = bucket.IndexOf(id);
            if (at >= 0) RemoveAt(bucket, at);
        }
    }

    private void RemoveAt(Bucket bucket, int at)
    {
        bucket.Entries.RemoveAt(at);
        _count--;
        // Promote the most recently seen replacement that fits the diversity limit.
        for (int i = bucket.Replacements.Count - 1; i >= 0; i--)
        {
            var r = bucket.Replacements[i];
            if (!DiversityAllows(bucket.Entries, r, ignore: null)) continue;
            bucket.Replacements.RemoveAt(i);
            bucket.Entries.Add(new Entry { Contact = r, LastSeen = _time.GetTimestamp() });
            _count++;
            break;
        }
    }

    private void AddReplacement(Bucket bucket, PeerContact contact)
    {
        bucket.Replacements.RemoveAll(r => r.Id == contact.Id);
        bucket.Replacements.Add(contact);
        if (bucket.Replacements.Count > _options.K) bucket.Replacements.RemoveAt(0);
    }

    /// <summary>Whether the peer is in the table.</summary>
    public bool Contains(NodeId id)
    {
        lock (_lock)
        {
            var bucket = _buckets[BucketIndex(id)];
            return bucket is not null && bucket.IndexOf(id) >= 0;
        }
    }

    /// <summary>
    /// The <paramref name="count"/> peers closest to <paramref name="target"/>, closest first. With
    /// <paramref name="skipStale"/>, peers whose last <see cref="DhtOptions.MaxFailures"/> requests all failed are left
    /// out (they stay in the table, see <see cref="RecordFailure"/>, and count again once they answer or call): what a
    /// node names to others in its answers. A departed node that every table still holds would otherwise take places
    /// among every answer's k, and a lookup would find fewer than the k closest live nodes.
    /// </summary>
    public List<PeerContact> Closest(NodeId target, int count, NodeId? exclude = null, bool skipStale = false)
    {
        var all = new List<(NodeId Distance, PeerContact Contact)>(Math.Min(Count, 512));
        lock (_lock)
        {
            foreach (var bucket in _buckets)
            {
                if (bucket is null) continue;
                foreach (var e in bucket.Entries)
                    if (e.Contact.Id != exclude && (!skipStale || e.Failures < _options.MaxFailures))
                        all.Add((target.DistanceTo(e.Contact.Id), e.Contact));
            }
        }
        return ClosestOf(all, count);
    }

    /// <summary>
    /// The <paramref name="count"/> peers closest to <paramref name="target"/> that have not failed recently
    /// (<see cref="FailedRecently"/>), closest first.
    /// </summary>
    public List<PeerContact> ClosestAnswering(NodeId target, int count)
    {
        var all = new List<(NodeId Distance, PeerContact Contact)>(Math.Min(Count, 512));
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            foreach (var bucket in _buckets)
            {
                if (bucket is null) continue;
                foreach (var e in bucket.Entries)
                    if (!IsFailing(e, now)) all.Add((target.DistanceTo(e.Contact.Id), e.Contact));
            }
        }
        return ClosestOf(all, count);
    }

    private static List<PeerContact> ClosestOf(List<(NodeId Distance, PeerContact Contact)> all, int count)
    {
        all.Sort(static (a, b) => a.Distance.CompareTo(b.Distance));
        var result = new List<PeerContact>(Math.Min(count, all.Count));
        for (int i = 0; i < all.Count && i < count; i++) result.Add(all[i].Contact);
        return result;
    }

    /// <summary>Every peer in the table.</summary>
    public List<PeerContact> All()
    {
        var result = new List<PeerContact>(Count);
        lock (_lock)
        {
            foreach (var bucket in _buckets)
                if (bucket is not null)
                    foreach (var e in bucket.Entries) result.Add(e.Contact);
        }
        return result;
    }

    /// <summary>Every peer in the table with when it last answered (for status reports), closest buckets first.</summary>
    public List<(PeerContact Contact, DateTimeOffset LastSeen)> AllWithLastSeen()
    {
        var now = _time.GetUtcNow();
        var result = new List<(PeerContact, DateTimeOffset)>(Count);
        lock (_lock)
        {
            for (int b = _buckets.Length - 1; b >= 0; b--)
                if (_buckets[b] is { } bucket)
                    foreach (var e in bucket.Entries) result.Add((e.Contact, now - _time.GetElapsedTime(e.LastSeen)));
        }
        return result;
    }

    /// <summary>
    /// Buckets that need a refresh lookup: those not touched for <see cref="DhtOptions.RefreshInterval"/>, up to
    /// one past the deepest non-empty bucket (deeper ones are empty because the network has no such peers).
    /// </summary>
    public List<int> StaleBuckets()
    {
        var result = new List<int>();
        long now = _time.GetTimestamp();
        lock (_lock)
        {
            int deepest = -1;
            for (int i = 0; i < _buckets.Length; i++)
                if (_buckets[i] is { Entries.Count: > 0 }) deepest = i;
            for (int i = 0; i <= Math.Min(deepest + 1, NodeId.Bits - 1); i++)
            {
                var b = _buckets[i];
                if (b is null || _time.GetElapsedTime(b.LastTouched, now) >= _options.RefreshInterval) result.Add(i);
            }
        }
        return result;
    }

    /// <summary>Marks a bucket as looked up now.</summary>
    public void MarkRefreshed(int index)
    {
        lock (_lock) (_buckets[index] ??= new Bucket()).LastTouched = _time.GetTimestamp();
    }

    private bool DiversityAllows(List<Entry> entries, PeerContact contact, NodeId? ignore)
    {
        var address = contact.EndPoint.Address;
        if (_options.AllowLoopbackClusters && IPAddress.IsLoopback(address)) return true;
        int same = 0;
        foreach (var e in entries)
            if (e.Contact.Id != ignore && SameSubnet(e.Contact.EndPoint.Address, address) && ++same >= _options.MaxPerSubnetPerBucket)
                return false;
        return true;
    }

    /// <summary>Whether two addresses share a /24 (IPv4) or /64 (IPv6).</summary>
    internal static bool SameSubnet(IPAddress a, IPAddress b)
    {
        if (a.IsIPv4MappedToIPv6) a = a.MapToIPv4();
        if (b.IsIPv4MappedToIPv6) b = b.MapToIPv4();
        if (a.AddressFamily != b.AddressFamily) return false;
        Span<byte> x = stackalloc byte[16], y = stackalloc byte[16];
        a.TryWriteBytes(x, out int n);
        b.TryWriteBytes(y, out _);
        int prefix = a.AddressFamily == AddressFamily.InterNetwork ? 3 : 8;
        return x[..Math.Min(prefix, n)].SequenceEqual(y[..Math.Min(prefix, n)]);
    }

    private sealed class Bucket
    {
        public readonly List<Entry> Entries = [];
        public readonly List<PeerContact> Replacements = [];
        public long LastTouched;

        public int IndexOf(NodeId id)
        {
            for (int i = 0; i < Entries.Count; i++)
                if (Entries[i].Contact.Id == id) return i;
            return -1;
        }
    }

    private sealed class Entry
    {
        public PeerContact Contact;
        public long LastSeen;
        public int Failures;

        /// <summary>Timestamp of the last failed request, 0 when it answered since (or never failed).</summary>
        public long LastFailed;
    }
}
