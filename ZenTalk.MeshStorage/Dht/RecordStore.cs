using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>Who sent a record over the network: the peer's proven id and the address it called from.</summary>
internal readonly record struct RecordOrigin(NodeId Peer, IPAddress Address);

/// <summary>
/// Records held by this node, each with an expiry, inside a byte budget. Every record is charged, all its fields
/// counted plus <see cref="OverheadPerRecord"/>, to the node total, and a record that came from a peer also to that peer
/// and to its network (IPv4 /24, IPv6 /48), each with its own limit (<see cref="DhtOptions"/>). Lifetimes:
/// <list type="bullet">
/// <item>a SIGNED record lives until the expiry its publisher signed, capped at <see cref="DhtOptions.RecordTtl"/> from
/// when it was last stored; storing the same record again renews it within that (a signed expiry of 0 means "until
/// replaced", so its holders' republishing keeps it);</item>
/// <item>an unsigned (IMMUTABLE) record lives <see cref="DhtOptions.UnsignedRecordTtl"/> from when it was first stored
/// here (or less, if it says so), and nothing renews it: its republished copies carry the expiry it has here, so it
/// dies everywhere within that time of its first store.</item>
/// </list>
/// A key holds records of one type; between two records for a key the validator's Select decides. Time comes from the
/// injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RecordStore
{
    /// <summary>Bytes charged per record on top of its fields: the objects that hold it in memory.</summary>
    public const int OverheadPerRecord = 512;

    private readonly Dictionary<NodeId, Stored> _records = [];
    private readonly Dictionary<NodeId, long> _byPeer = [];
    private readonly Dictionary<AddressPrefix, long> _byPrefix = [];
    private readonly Lock _lock = new();
    private readonly DhtOptions _options;
    private readonly TimeProvider _time;
    private readonly IRecordValidator _validator;
    private long _bytes;

    public RecordStore(DhtOptions options, TimeProvider time, IRecordValidator validator)
    {
        _options = options;
        _time = time;
        _validator = validator;
    }

    public int Count
    {
        get { lock (_lock) return _records.Count; }
    }

    /// <summary>Bytes charged for the records held.</summary>
    public long Bytes
    {
        get { lock (_lock) return _bytes; }
    }

    /// <summary>Bytes charged to records <paramref name="peer"/> stored here.</summary>
    public long BytesFrom(NodeId peer)
    {
        lock (_lock) return _byPeer.GetValueOrDefault(peer);
    }

    /// <summary>What a record costs against the budget.</summary>
    public static long SizeOf(ValueRecord record) =>
        OverheadPerRecord + record.Key.Length + record.Value.Length + record.PublicKey.Length + record.Name.Length + record.Signature.Length;

    /// <summary>Validates and stores a record (or keeps the better of it and the one held). <paramref name="origin"/>
    /// is the peer that sent it, charged for it; null for the node's own records.</summary>
    /// <exception cref="IntegrityException">The record fails validation.</exception>
    /// <exception cref="ArgumentException">The record is malformed, too large, expired, or of another type than the
    /// record held for its key.</exception>
    /// <exception cref="QuotaExceededException">The node, the peer or its network is at its record limit.</exception>
    public void Put(ValueRecord record, RecordOrigin? origin = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Value.Length > _options.MaxRecordValueSize)
            throw new ArgumentException($"The record value is {record.Value.Length} bytes; the limit is {_options.MaxRecordValueSize}.", nameof(record));
        if (record.Kind == RecordKind.Immutable && record.Value.Length > _options.MaxUnsignedValueSize)
            throw new ArgumentException($"The unsigned record value is {record.Value.Length} bytes; the limit for unsigned records is {_options.MaxUnsignedValueSize}.", nameof(record));
        _validator.Validate(record);
        var now = _time.GetUtcNow();
        var expires = ExpiryOf(record, now);
        if (expires <= now) throw new ArgumentException("The record has already expired.", nameof(record));
        var key = new NodeId(record.Key.Span);
        var charge = ChargeOf(origin);
        long size = SizeOf(record);
        lock (_lock)
        {
            if (_records.TryGetValue(key, out var held) && held.Expires > now)
            {
                if (held.Record.Kind == RecordKind.Immutable && record.Kind == RecordKind.Immutable && held.Record.Type == record.Type)
                {
                    // The same value (the key is its hash): nothing to replace, and nobody may renew it.
                    held.LastPublished = now;
                    return;
                }
                var keep = _validator.Select(held.Record, record);
                if (ReferenceEquals(keep, held.Record))
                {
                    if (held.Record.Type != record.Type)
                        throw new ArgumentException($"This key holds records of type {held.Record.Type}; a record of type {record.Type} cannot take its place.", nameof(record));
                    if (record.Equals(held.Record))
                    {
                        // Someone stored it again: renew it within what its publisher signed, and leave the hourly
                        // republish to them (Kademlia's rule: a record just stored here needs no republish from here).
                        if (expires > held.Expires) held.Expires = expires;
                        held.LastPublished = now;
                    }
                    return;
                }
                Uncharge(held);
                if (LimitReached(charge, size) is { } refusal)
                {
                    Charge(held);
                    throw new QuotaExceededException(refusal);
                }
            }
            else
            {
                if (held is not null) Uncharge(held);
                _records.Remove(key);
                if (_records.Count >= _options.MaxRecords)
                    throw new QuotaExceededException($"This node already holds {_options.MaxRecords} records.");
                if (LimitReached(charge, size) is { } refusal) throw new QuotaExceededException(refusal);
            }
            var stored = new Stored(record, expires, now, size, charge);
            _records[key] = stored;
            Charge(stored);
        }
    }

    /// <summary>The live record for <paramref name="key"/>, or null.</summary>
    public ValueRecord? Get(NodeId key)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
            return _records.TryGetValue(key, out var s) && s.Expires > now ? s.Record : null;
    }

    /// <summary>Drops expired records; returns how many.</summary>
    public int RemoveExpired()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var dead = _records.Where(r => r.Value.Expires <= now).ToList();
            foreach (var (k, s) in dead)
            {
                _records.Remove(k);
                Uncharge(s);
            }
            return dead.Count;
        }
    }

    /// <summary>
    /// Live records last republished at least <paramref name="olderThan"/> ago; marks them republished now. An unsigned
    /// record comes back as a copy that carries the expiry it has here, so that no node it reaches keeps it longer.
    /// </summary>
    public List<ValueRecord> TakeDueForRepublish(TimeSpan olderThan)
    {
        var now = _time.GetUtcNow();
        var due = new List<ValueRecord>();
        lock (_lock)
        {
            foreach (var s in _records.Values)
            {
                if (s.Expires <= now || now - s.LastPublished < olderThan) continue;
                s.LastPublished = now;
                due.Add(s.Record.Kind == RecordKind.Immutable
                    ? new ValueRecord(s.Record) { ExpiresUnixMs = s.Expires.ToUnixTimeMilliseconds() }
                    : s.Record);
            }
        }
        return due;
    }

    private DateTimeOffset ExpiryOf(ValueRecord record, DateTimeOffset now)
    {
        var cap = now + (record.Kind == RecordKind.Immutable ? _options.UnsignedRecordTtl : _options.RecordTtl);
        if (record.ExpiresUnixMs == 0) return cap;
        var own = DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiresUnixMs);
        return own < cap ? own : cap;
    }

    private Charged ChargeOf(RecordOrigin? origin)
    {
        if (origin is not { } o) return default;
        bool exempt = _options.AllowLoopbackClusters && IPAddress.IsLoopback(o.Address);
        return new Charged(o.Peer, exempt ? null : AddressPrefix.Of(o.Address));
    }

    private string? LimitReached(Charged charge, long size)
    {
        if (_bytes + size > _options.MaxRecordBytes)
            return $"This node's records would exceed their budget of {_options.MaxRecordBytes} bytes.";
        if (charge.Peer is { } peer && _byPeer.GetValueOrDefault(peer) + size > _options.MaxRecordBytesPerPeer)
            return $"Records from this peer would exceed their budget of {_options.MaxRecordBytesPerPeer} bytes at this node.";
        if (charge.Prefix is { } prefix && _byPrefix.GetValueOrDefault(prefix) + size > _options.MaxRecordBytesPerPrefix)
            return $"Records from the network {prefix} would exceed their budget of {_options.MaxRecordBytesPerPrefix} bytes at this node.";
        return null;
    }

    private void Charge(Stored s)
    {
        _bytes += s.Size;
        if (s.Charge.Peer is { } peer) _byPeer[peer] = _byPeer.GetValueOrDefault(peer) + s.Size;
        if (s.Charge.Prefix is { } prefix) _byPrefix[prefix] = _byPrefix.GetValueOrDefault(prefix) + s.Size;
    }

    private void Uncharge(Stored s)
    {
        _bytes -= s.Size;
        if (s.Charge.Peer is { } peer) Reduce(_byPeer, peer, s.Size);
        if (s.Charge.Prefix is { } prefix) Reduce(_byPrefix, prefix, s.Size);
    }

    private static void Reduce<TKey>(Dictionary<TKey, long> usage, TKey key, long size) where TKey : notnull
    {
        long left = usage.GetValueOrDefault(key) - size;
        if (left <= 0) usage.Remove(key);
        else usage[key] = left;
    }

    private readonly record struct Charged(NodeId? Peer, AddressPrefix? Prefix);

    private sealed class Stored(ValueRecord record, DateTimeOffset expires, DateTimeOffset published, long size, Charged charge)
    {
        public ValueRecord Record { get; } = record;
        public DateTimeOffset Expires { get; set; } = expires;
        public DateTimeOffset LastPublished { get; set; } = published;
        public long Size { get; } = size;
        public Charged Charge { get; } = charge;
    }
}
