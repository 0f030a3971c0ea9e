using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class RecordStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private RecordStore NewStore(int max = 100) =>
        new(new DhtOptions { RecordTtl = TimeSpan.FromHours(24), MaxRecords = max }, _time, new RecordValidatorRegistry());

    private static RecordOrigin From(string address, NodeId? peer = null) => new(peer ?? NodeId.Random(), IPAddress.Parse(address));

    [Test]
    public void A_record_lives_until_its_expiry_then_is_gone()
    {
        var store = NewStore();
        var record = ValueRecords.CreateImmutable("x"u8, _time.GetUtcNow().AddHours(1));
        store.Put(record);
        var key = new NodeId(record.Key.Span);
        _time.Advance(TimeSpan.FromMinutes(59));
        Assert.That(store.Get(key), Is.EqualTo(record));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(store.Get(key), Is.Null);
        Assert.That(store.RemoveExpired(), Is.EqualTo(1));
        Assert.That(store.Count, Is.Zero);
    }

    [Test]
    public void A_record_without_expiry_gets_the_node_ttl_and_no_record_outlives_it()
    {
        var store = NewStore();
        var forever = ValueRecords.CreateImmutable("a"u8);
        var farFuture = ValueRecords.CreateImmutable("b"u8, _time.GetUtcNow().AddYears(5));
        store.Put(forever);
        store.Put(farFuture);
        _time.Advance(TimeSpan.FromHours(25));
        Assert.That(store.Get(new NodeId(forever.Key.Span)), Is.Null);
        Assert.That(store.Get(new NodeId(farFuture.Key.Span)), Is.Null);
    }

    [Test]
    public void An_expired_or_invalid_record_is_refused_and_nothing_is_stored()
    {
        var store = NewStore();
        var expired = ValueRecords.CreateImmutable("x"u8, _time.GetUtcNow().AddSeconds(-1));
        Assert.Throws<ArgumentException>(() => store.Put(expired));
        var bad = ValueRecords.CreateImmutable("x"u8);
        bad.Value = Google.Protobuf.ByteString.CopyFromUtf8("y");
        Assert.Throws<IntegrityException>(() => store.Put(bad));
        Assert.That(store.Count, Is.Zero);
    }

    [Test]
    public void An_older_signed_record_does_not_replace_a_newer_one()
    {
        var store = NewStore();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var v2 = ValueRecords.CreateSigned(key, "n"u8, "2"u8, 2);
        var v1 = ValueRecords.CreateSigned(key, "n"u8, "1"u8, 1);
        store.Put(v2);
        store.Put(v1);
        Assert.That(store.Get(new NodeId(v2.Key.Span)), Is.EqualTo(v2));
    }

    [Test]
    public void The_record_limit_is_enforced()
    {
        var store = NewStore(max: 2);
        store.Put(ValueRecords.CreateImmutable("1"u8));
        store.Put(ValueRecords.CreateImmutable("2"u8));
        Assert.Throws<QuotaExceededException>(() => store.Put(ValueRecords.CreateImmutable("3"u8)));
    }

    [Test]
    public void Every_field_counts_against_the_byte_budget_and_expiry_gives_the_bytes_back()
    {
        var store = new RecordStore(new DhtOptions { MaxRecordBytes = 8 * 1024 }, _time, new RecordValidatorRegistry());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // A tiny value under a 5,000-byte name: the name is what costs.
        var bulky = ValueRecords.CreateSigned(key, Enumerable.Repeat((byte)1, 5000).ToArray(), "v"u8, 1, _time.GetUtcNow().AddHours(1));
        store.Put(bulky);
        Assert.That(store.Bytes, Is.EqualTo(RecordStore.SizeOf(bulky)).And.GreaterThan(5000 + RecordStore.OverheadPerRecord));
        var another = ValueRecords.CreateSigned(key, Enumerable.Repeat((byte)2, 5000).ToArray(), "w"u8, 1);
        Assert.Throws<QuotaExceededException>(() => store.Put(another));
        _time.Advance(TimeSpan.FromHours(2));
        Assert.That(store.RemoveExpired(), Is.EqualTo(1));
        Assert.That(store.Bytes, Is.Zero);
        store.Put(another);
    }

    [Test]
    public void One_peer_and_one_network_store_at_most_their_share_and_loopback_is_exempt_only_for_test_clusters()
    {
        var options = new DhtOptions { MaxRecordBytesPerPeer = 10 * 1024, MaxRecordBytesPerPrefix = 25 * 1024 };
        var store = new RecordStore(options, _time, new RecordValidatorRegistry());
        var peer = NodeId.Random();
        int fromPeer = 0;
        for (int i = 0; i < 10; i++)
        {
            try
            {
                store.Put(ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(2048)), From("198.51.7.1", peer));
                fromPeer++;
            }
            catch (QuotaExceededException)
            {
            }
        }
        Assert.That(fromPeer, Is.EqualTo(10 * 1024 / (2048 + 32 + RecordStore.OverheadPerRecord)));
        Assert.That(store.BytesFrom(peer), Is.LessThanOrEqualTo(options.MaxRecordBytesPerPeer));
        // Other identities of the same /24 fill the network's share, then nobody there gets more.
        int fromNetwork = fromPeer;
        for (int i = 0; i < 20; i++)
        {
            try
            {
                store.Put(ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(2048)), From($"198.51.7.{i + 2}"));
                fromNetwork++;
            }
            catch (QuotaExceededException)
            {
            }
        }
        Assert.That(fromNetwork, Is.EqualTo(25 * 1024 / (2048 + 32 + RecordStore.OverheadPerRecord)));
        var more = ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(2048));
        Assert.Throws<QuotaExceededException>(() => store.Put(more, From("198.51.7.200")));
        store.Put(more, From("198.51.8.1")); // the next /24 is another network

        // 127.x is one network like any other, unless the node runs a loopback test cluster.
        var plain = new RecordStore(new DhtOptions { MaxRecordBytesPerPrefix = 4 * 1024 }, _time, new RecordValidatorRegistry());
        var cluster = new RecordStore(new DhtOptions { MaxRecordBytesPerPrefix = 4 * 1024, AllowLoopbackClusters = true }, _time, new RecordValidatorRegistry());
        int plainTaken = 0;
        for (int i = 0; i < 4; i++)
        {
            var r = ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(1024));
            cluster.Put(r, From("127.0.0.1"));
            try
            {
                plain.Put(r, From("127.0.0.1"));
                plainTaken++;
            }
            catch (QuotaExceededException)
            {
            }
        }
        Assert.That(plainTaken, Is.EqualTo(2));
        Assert.That(cluster.Count, Is.EqualTo(4));
    }

    [Test]
    public void An_unsigned_record_is_small_and_nothing_renews_it_while_republished_copies_carry_its_expiry()
    {
        var store = new RecordStore(new DhtOptions { UnsignedRecordTtl = TimeSpan.FromHours(6) }, _time, new RecordValidatorRegistry());
        Assert.Throws<ArgumentException>(() => store.Put(ValueRecords.CreateImmutable(new byte[new DhtOptions().MaxUnsignedValueSize + 1])));
        var junk = ValueRecords.CreateImmutable("junk"u8);
        var key = new NodeId(junk.Key.Span);
        var firstStored = _time.GetUtcNow();
        store.Put(junk);
        _time.Advance(TimeSpan.FromHours(5));
        store.Put(junk); // stored again: not renewed
        store.Put(ValueRecords.CreateImmutable("junk"u8, _time.GetUtcNow().AddDays(30))); // a copy claiming a long life: not renewed either
        var copy = store.TakeDueForRepublish(TimeSpan.Zero).Single();
        Assert.That(copy.ExpiresUnixMs, Is.EqualTo(firstStored.AddHours(6).ToUnixTimeMilliseconds()), "the republished copy carries the expiry it has here");
        Assert.That(junk.ExpiresUnixMs, Is.Zero, "the held record is not changed");
        // A node that gets the republished copy an hour before it expires here keeps it no longer than this one does.
        var other = new RecordStore(new DhtOptions(), _time, new RecordValidatorRegistry());
        other.Put(copy);
        Assert.That(other.Get(key), Is.Not.Null);
        _time.Advance(TimeSpan.FromHours(1));
        Assert.That(store.Get(key), Is.Null);
        _time.Advance(TimeSpan.FromHours(0.5));
        Assert.That(other.Get(key), Is.Null);
    }

    [Test]
    public void A_signed_record_is_renewed_by_a_new_store_but_never_past_the_expiry_its_publisher_signed()
    {
        var store = NewStore();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var dated = ValueRecords.CreateSigned(key, "dated"u8, "v"u8, 1, _time.GetUtcNow().AddHours(30));
        var open = ValueRecords.CreateSigned(key, "open"u8, "v"u8, 1);
        store.Put(dated);
        store.Put(open);
        for (int hour = 1; hour <= 40; hour++)
        {
            _time.Advance(TimeSpan.FromHours(1));
            if (hour < 30) store.Put(dated);
            store.Put(open); // "no expiry" signed: its holders keep renewing it
        }
        Assert.That(store.Get(new NodeId(dated.Key.Span)), Is.Null, "past its signed expiry");
        Assert.That(store.Get(new NodeId(open.Key.Span)), Is.EqualTo(open));
    }

    [Test]
    public void A_key_holds_one_record_type_and_a_typed_record_wins_in_either_order()
    {
        var registry = new RecordValidatorRegistry();
        registry.Register(7, DefaultRecordValidator.Instance);
        var untyped = ValueRecords.CreateImmutable("manifest bytes"u8);
        var typed = ValueRecords.CreateImmutable("manifest bytes"u8, type: 7);
        Assert.That(registry.Select(untyped, typed), Is.SameAs(typed));
        Assert.That(registry.Select(typed, untyped), Is.SameAs(typed));

        var store = new RecordStore(new DhtOptions(), _time, registry);
        store.Put(untyped);
        store.Put(typed);
        Assert.That(store.Get(new NodeId(typed.Key.Span)), Is.EqualTo(typed), "the typed record takes the key");
        var ex = Assert.Throws<ArgumentException>(() => store.Put(untyped));
        Assert.That(ex!.Message, Does.Contain("type 7"));
        Assert.That(store.Get(new NodeId(typed.Key.Span)), Is.EqualTo(typed));
    }

    [Test]
    public void A_signed_record_beats_an_unsigned_preimage_planted_under_its_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signed = ValueRecords.CreateSigned(key, "n"u8, "real"u8, 1);
        // The bytes the signed key hashes: an IMMUTABLE record with them as its value lands on the same key.
        var spki = key.ExportSubjectPublicKeyInfo();
        var preimage = new List<byte>("zentalk-record-v1"u8.ToArray());
        preimage.AddRange(BitConverter.IsLittleEndian ? BitConverter.GetBytes((uint)spki.Length).Reverse() : BitConverter.GetBytes((uint)spki.Length));
        preimage.AddRange(spki);
        preimage.AddRange(new byte[] { 0, 0, 0, 1, (byte)'n' });
        var planted = ValueRecords.CreateImmutable(preimage.ToArray());
        Assert.That(planted.Key, Is.EqualTo(signed.Key));
        var validator = DefaultRecordValidator.Instance;
        Assert.That(validator.Select(planted, signed), Is.SameAs(signed));
        Assert.That(validator.Select(signed, planted), Is.SameAs(signed));
    }
}
