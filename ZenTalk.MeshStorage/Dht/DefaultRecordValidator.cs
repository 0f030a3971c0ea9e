using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>Validates the IMMUTABLE and SIGNED record forms of <see cref="ValueRecords"/>.</summary>
internal sealed class DefaultRecordValidator : IRecordValidator
{
    public static DefaultRecordValidator Instance { get; } = new();

    public void Validate(ValueRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Key.Length != 32)
            throw new ArgumentException($"A record key is 32 bytes; got {record.Key.Length}.", nameof(record));
        switch (record.Kind)
        {
            case RecordKind.Immutable:
                if (!SHA256.HashData(record.Value.Span).AsSpan().SequenceEqual(record.Key.Span))
                    throw new IntegrityException("The immutable record's key is not the SHA-256 of its value.");
                return;
            case RecordKind.Signed:
                if (!ValueRecords.SignedKey(record.PublicKey.Span, record.Name.Span).AsSpan().SequenceEqual(record.Key.Span))
                    throw new IntegrityException("The signed record's key does not match its public key and name.");
                if (!VerifySignature(record))
                    throw new IntegrityException("The signed record's signature does not verify against its public key.");
                return;
            default:
                throw new ArgumentException($"Unknown record kind {record.Kind}.", nameof(record));
        }
    }

    /// <summary>
    /// The same choice whatever order the two arrive in: a SIGNED record beats an IMMUTABLE one under the same key (whose
    /// value could only be the key's preimage, planted to shadow it); between signed records the higher sequence, then
    /// the later signed expiry, then the lower signature bytes; between unsigned copies of one value (the key is its
    /// hash), the one that ends first, so a copy cannot lengthen a record's life.
    /// </summary>
    public ValueRecord Select(ValueRecord existing, ValueRecord incoming)
    {
        if (existing.Kind != incoming.Kind) return incoming.Kind == RecordKind.Signed ? incoming : existing;
        if (existing.Kind == RecordKind.Signed)
        {
            if (incoming.Sequence != existing.Sequence) return incoming.Sequence > existing.Sequence ? incoming : existing;
            if (incoming.ExpiresUnixMs != existing.ExpiresUnixMs)
                return Ends(incoming) > Ends(existing) ? incoming : existing;
            return incoming.Signature.Span.SequenceCompareTo(existing.Signature.Span) < 0 ? incoming : existing;
        }
        return Ends(incoming) < Ends(existing) ? incoming : existing;
    }

    private static long Ends(ValueRecord record) => record.ExpiresUnixMs == 0 ? long.MaxValue : record.ExpiresUnixMs;

    /// <summary>
    /// Signed records take the owner keys' scheme and policy (ECDSA P-256, or RSA-PSS with a 2048- to 4096-bit modulus and
    /// exponent 65537), checked before any signature is: a made-up key cannot set the price of a check.
    /// </summary>
    private static bool VerifySignature(ValueRecord record)
    {
        OwnerPublicKey key;
        try
        {
            key = OwnerPublicKey.FromSubjectPublicKeyInfo(record.PublicKey.Span);
        }
        catch (IntegrityException)
        {
            return false;
        }

        return key.Verify(ValueRecords.SigningBytes(record), record.Signature.Span);
    }
}
