using System.Collections.Concurrent;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Routes each record to the validator registered for its <see cref="ValueRecord.Type"/> tag, and to a fallback
/// (the default validator) for untagged records. The Distributed layer registers its manifest and tombstone
/// validators here; a record with a tag nobody registered is refused rather than stored unchecked.
/// </summary>
internal sealed class RecordValidatorRegistry : IRecordValidator
{
    private readonly ConcurrentDictionary<uint, IRecordValidator> _byType = new();
    private readonly IRecordValidator _fallback;

    public RecordValidatorRegistry(IRecordValidator? fallback = null) => _fallback = fallback ?? DefaultRecordValidator.Instance;

    /// <summary>Registers the validator for one record type tag (not 0, which is the fallback's).</summary>
    /// <exception cref="ArgumentException">The tag is 0 or already registered.</exception>
    public void Register(uint type, IRecordValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        if (type == 0) throw new ArgumentException("Type 0 is the generic type handled by the fallback validator.", nameof(type));
        if (!_byType.TryAdd(type, validator)) throw new ArgumentException($"A validator for type {type} is already registered.", nameof(type));
    }

    public void Validate(ValueRecord record) => For(record).Validate(record);

    /// <summary>
    /// A key holds records of one type. Between two types the higher tag wins, whatever order they arrive in: every
    /// registered type outranks the generic type 0, so an untyped record (an IMMUTABLE one holding a manifest's bytes
    /// under its CID, say) can never shadow a file record. Within one type, that type's validator decides.
    /// </summary>
    public ValueRecord Select(ValueRecord existing, ValueRecord incoming)
    {
        if (existing.Type != incoming.Type) return incoming.Type > existing.Type ? incoming : existing;
        return For(incoming).Select(existing, incoming);
    }

    private IRecordValidator For(ValueRecord record)
    {
        if (record.Type == 0) return _fallback;
        return _byType.TryGetValue(record.Type, out var v)
            ? v
            : throw new ArgumentException($"No validator is registered for record type {record.Type}; the record is refused.", nameof(record));
    }
}
