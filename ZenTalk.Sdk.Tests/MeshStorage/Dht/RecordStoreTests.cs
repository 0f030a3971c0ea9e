using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class RecordStoreTests
{
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private RecordStore NewStore(int max = 100) =>
        new(new DhtOptions { RecordTtl = TimeSpan.FromHours(24), MaxRecords = max }, _time, new RecordValidatorRegistry());

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
}
