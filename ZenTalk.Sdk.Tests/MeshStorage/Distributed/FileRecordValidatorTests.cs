using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

public class FileRecordValidatorTests
{
    private static readonly Lazy<OwnerKey> Owner = FileIndexTests.Owner;
    private static readonly Lazy<OwnerKey> Stranger = FileIndexTests.Stranger;
    private static readonly FileRecordValidator Validator = FileRecordValidator.Instance;

    private static Task<Manifest> NewManifest(DateTimeOffset? expires = null) => FileIndexTests.NewManifest(segments: 3, expires);

    [Test]
    public async Task The_winner_of_two_valid_records_does_not_depend_on_which_came_first()
    {
        var manifest = await NewManifest();
        var record = FileRecords.ForManifest(manifest);
        var earlier = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow.AddMinutes(-1));
        var later = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow);
        var sameTime = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.FromUnixTimeMilliseconds(FileRecords.OpenTombstone(earlier).Tombstone.DeletedUnixMs));
        foreach (var r in new[] { record, earlier, later, sameTime }) Validator.Validate(r);
        // RSASSA-PSS signatures are randomized: two tombstones of the same moment differ only in their bytes.
        var firstOfSameTime = earlier.Value.Span.SequenceCompareTo(sameTime.Value.Span) < 0 ? earlier : sameTime;

        var cases = new (ValueRecord A, ValueRecord B, ValueRecord Winner)[]
        {
            (record, earlier, earlier),
            (record, later, later),
            (earlier, later, earlier),
            (earlier, sameTime, firstOfSameTime),
            (record, record.Clone(), record),
        };
        foreach (var (a, b, winner) in cases)
        {
            Assert.That(Validator.Select(a, b), Is.EqualTo(winner));
            Assert.That(Validator.Select(b, a), Is.EqualTo(winner));
        }
    }

    [Test]
    public async Task A_tombstone_by_anyone_but_the_owner_is_invalid_even_without_the_manifest_at_hand()
    {
        var manifest = await NewManifest();
        var foreign = FileRecords.ForTombstone(manifest, Stranger.Value, DateTimeOffset.UtcNow);
        var e = Assert.Throws<IntegrityException>(() => Validator.Validate(foreign));
        Assert.That(e!.Message, Does.Contain("not signed by the file's owner"));
    }

    [Test]
    public async Task A_tombstone_without_its_manifest_or_outliving_its_file_or_padded_is_invalid()
    {
        var manifest = await NewManifest(DateTimeOffset.UtcNow.AddDays(3));
        var genuine = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow);
        Validator.Validate(genuine);

        var bare = ZenTalk.MeshStorage.Distributed.Proto.Tombstone.Parser.ParseFrom(genuine.Value);
        bare.Manifest = ByteString.Empty;
        var withoutManifest = genuine.Clone();
        withoutManifest.Value = bare.ToByteString();
        var forever = genuine.Clone();
        forever.ExpiresUnixMs = 0;
        var padded = genuine.Clone();
        padded.Value = ByteString.CopyFrom([.. genuine.Value.Span, 0xF8, 0x01, 0x01]); // an unknown field 31
        foreach (var record in new[] { withoutManifest, forever, padded })
            Assert.Throws<IntegrityException>(() => Validator.Validate(record));
    }

    [Test]
    public async Task A_record_cut_differently_between_name_and_value_is_validated_on_its_own()
    {
        var genuine = FileRecords.ForManifest(await NewManifest());
        Validator.Validate(genuine);
        var value = genuine.Value.ToByteArray();
        var shifted = genuine.Clone();
        shifted.Name = ByteString.CopyFrom([(byte)'m', value[0]]);
        shifted.Value = ByteString.CopyFrom(value[1..]);
        var nameless = genuine.Clone();
        nameless.Name = ByteString.Empty;
        nameless.Value = ByteString.CopyFrom([(byte)'m', .. value]);
        foreach (var crafted in new[] { shifted, nameless })
        {
            Assert.That(FileRecordValidator.Fingerprint(crafted), Is.Not.EqualTo(FileRecordValidator.Fingerprint(genuine)));
            Assert.That(() => Validator.Validate(crafted), Throws.InstanceOf<ArgumentException>().Or.InstanceOf<IntegrityException>());
        }
    }

    [Test]
    public async Task A_file_record_carrying_fields_of_other_record_kinds_is_refused_even_after_its_twin_was_cached()
    {
        var genuine = FileRecords.ForManifest(await NewManifest());
        Validator.Validate(genuine);
        var signed = genuine.Clone();
        signed.Signature = ByteString.CopyFrom(new byte[4096]);
        var sequenced = genuine.Clone();
        sequenced.Sequence = 7;
        var otherType = genuine.Clone();
        otherType.Type = 0;
        foreach (var record in new[] { signed, sequenced, otherType })
            Assert.Throws<ArgumentException>(() => Validator.Validate(record));
    }
}
