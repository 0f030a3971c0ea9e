using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class RecordValidationTests
{
    private readonly IRecordValidator _validator = new RecordValidatorRegistry();

    [Test]
    public void An_immutable_record_validates_only_under_the_hash_of_its_value()
    {
        var record = ValueRecords.CreateImmutable("manifest bytes"u8);
        _validator.Validate(record);
        var tampered = record.Clone();
        tampered.Value = ByteString.CopyFromUtf8("other bytes");
        Assert.Throws<IntegrityException>(() => _validator.Validate(tampered));
    }

    [Test]
    public void An_ecdsa_signed_record_validates_and_any_change_breaks_it()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var record = ValueRecords.CreateSigned(key, "profile"u8, "v1"u8, sequence: 1);
        _validator.Validate(record);

        foreach (var mutate in new Action<ValueRecord>[]
                 {
                     r => r.Value = ByteString.CopyFromUtf8("v2"),
                     r => r.Sequence = 2,
                     r => r.ExpiresUnixMs = 5,
                     r => r.Type = 0 + 7,
                     r => r.Signature = ByteString.CopyFrom(new byte[64]),
                 })
        {
            var copy = record.Clone();
            mutate(copy);
            Assert.Catch<Exception>(() => _validator.Validate(copy), "a changed field must not validate");
        }
    }

    [Test]
    public void A_record_signed_by_another_key_under_my_key_is_refused()
    {
        using var mine = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var genuine = ValueRecords.CreateSigned(mine, "profile"u8, "v1"u8, 1);
        var forged = ValueRecords.CreateSigned(attacker, "profile"u8, "evil"u8, 99);
        forged.Key = genuine.Key; // claim my key slot
        var ex = Assert.Throws<IntegrityException>(() => _validator.Validate(forged));
        Assert.That(ex!.Message, Does.Contain("key does not match"));
    }

    [Test]
    public void An_rsa_pss_signed_record_validates()
    {
        using var key = RSA.Create(2048);
        var record = ValueRecords.CreateSigned(key, "tombstone"u8, "deleted"u8, 3);
        _validator.Validate(record);
        record.Value = ByteString.CopyFromUtf8("x");
        Assert.Throws<IntegrityException>(() => _validator.Validate(record));
    }

    [Test]
    public void The_higher_sequence_wins()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var v1 = ValueRecords.CreateSigned(key, "n"u8, "1"u8, 1);
        var v2 = ValueRecords.CreateSigned(key, "n"u8, "2"u8, 2);
        Assert.That(_validator.Select(v1, v2), Is.SameAs(v2));
        Assert.That(_validator.Select(v2, v1), Is.SameAs(v2));
    }

    [Test]
    public void Typed_records_go_to_their_registered_validator_and_unknown_types_are_refused()
    {
        var registry = new RecordValidatorRegistry();
        var typed = ValueRecords.CreateImmutable("m"u8, type: 5);
        Assert.Throws<ArgumentException>(() => registry.Validate(typed));
        var custom = new RejectAll();
        registry.Register(5, custom);
        Assert.Throws<UnauthorizedOperationException>(() => registry.Validate(typed));
        Assert.That(custom.Calls, Is.EqualTo(1));
        Assert.Throws<ArgumentException>(() => registry.Register(0, custom));
    }

    [Test]
    public void Malformed_keys_are_refused_with_the_parameter_name()
    {
        var record = ValueRecords.CreateImmutable("x"u8);
        record.Key = ByteString.CopyFrom(new byte[5]);
        var ex = Assert.Throws<ArgumentException>(() => _validator.Validate(record));
        Assert.That(ex!.ParamName, Is.EqualTo("record"));
    }

    private sealed class RejectAll : IRecordValidator
    {
        public int Calls;
        public void Validate(ValueRecord record)
        {
            Calls++;
            throw new UnauthorizedOperationException("test validator refuses everything");
        }

        public ValueRecord Select(ValueRecord existing, ValueRecord incoming) => existing;
    }
}
