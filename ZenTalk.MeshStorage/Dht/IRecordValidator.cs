using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Decides whether a value record may be stored or returned, and which of two valid records for one key wins.
/// The DHT refuses every record its validator rejects, both in STORE_VALUE and in FIND_VALUE answers. The
/// Distributed layer plugs manifest and tombstone rules in through <see cref="RecordValidatorRegistry"/>.
/// </summary>
internal interface IRecordValidator
{
    /// <summary>Checks a record; throws when it must be refused.</summary>
    /// <exception cref="IntegrityException">The key does not match the content, or the signature is wrong.</exception>
    /// <exception cref="ArgumentException">The record is malformed.</exception>
    void Validate(ValueRecord record);

    /// <summary>Picks the record to keep from two valid records with the same key.</summary>
    ValueRecord Select(ValueRecord existing, ValueRecord incoming);
}
