using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Records held by this node, each with an expiry (the publisher's, capped at <see cref="DhtOptions.RecordTtl"/>
/// from the time it was stored). Time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RecordStore
{
    private readonly Dictionary<NodeId, Stored> _records = [];
    private readonly Lock _lock = new();
    private readonly DhtOptions _options;
    private readonly TimeProvider _time;
    private readonly IRecordValidator _validator;

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

    /// <summary>Validates and stores a record (or keeps the better of it and the one held).</summary>
    /// <exception cref="IntegrityException">The record fails validation.</exception>
    /// <exception cref="ArgumentException">The record is malformed or too large.</exception>
    /// <exception cref="QuotaExceededException">This node holds its maximum number of records.</exception>
    public void Put(ValueRecord record)
    {
        if (record.Value.Length > _options.MaxRecordValueSize)
            throw new ArgumentException($"The record value is {record.Value.Length} bytes; the limit is {_options.MaxRecordValueSize}.", nameof(record));
        _validator.Validate(record);
        var now = _time.GetUtcNow();
        var expires = ExpiryOf(record, now);
        if (expires <= now) throw new ArgumentException("The record has already expired.", nameof(record));
        var key = new NodeId(record.Key.Span);
        lock (_lock)
        {
            if (_records.TryGetValue(key, out var held) && held.Expires > now)
            {
                var keep = _validator.Select(held.Record, record);
                if (ReferenceEquals(keep, held.Record))
                {
                    if (record.Equals(held.Record) && expires > held.Expires) held.Expires = expires;
                    return;
                }
            }
            else if (_records.Count >= _options.MaxRecords)
            {
                throw new QuotaExceededException($"This node already holds {_options.MaxRecords} records.");
            }
            _records[key] = new Stored(record, expires, now);
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
            var dead = _records.Where(r => r.Value.Expires <= now).Select(r => r.Key).ToList();
            foreach (var k in dead) _records.Remove(k);
            return dead.Count;
        }
    }

    /// <summary>Live records last republished at least <paramref name="olderThan"/> ago; marks them republished now.</summary>
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
                due.Add(s.Record);
            }
        }
        return due;
    }

    private DateTimeOffset ExpiryOf(ValueRecord record, DateTimeOffset now)
    {
        var cap = now + _options.RecordTtl;
        if (record.ExpiresUnixMs == 0) return cap;
        var own = DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiresUnixMs);
        return own < cap ? own : cap;
    }

    private sealed class Stored(ValueRecord record, DateTimeOffset expires, DateTimeOffset published)
    {
        public ValueRecord Record { get; } = record;
        public DateTimeOffset Expires { get; set; } = expires;
        public DateTimeOffset LastPublished { get; set; } = published;
    }
}
