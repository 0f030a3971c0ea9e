using System.Formats.Asn1;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// Which owner public keys a node accepts from anyone: RSA with a 2048- to 4096-bit modulus and exponent 65537, or
/// ECDSA on P-256 (named curve, uncompressed point), each as DER SubjectPublicKeyInfo. The check walks the DER and
/// nothing else, so it costs microseconds whatever the input; it runs before a key is imported or a signature checked.
/// Without it a made-up key sets the price of a verification: a 16,384-bit modulus with a 64-bit exponent, or a
/// 3,072-bit modulus with an exponent as long, costs 10–16 ms of CPU per signature checked, and such a key takes no
/// prime generation to make.
/// </summary>
internal static class OwnerKeyPolicy
{
    public const int MinRsaModulusBits = 2048;
    public const int MaxRsaModulusBits = 4096;

    /// <summary>The SubjectPublicKeyInfo of a 4096-bit RSA key with exponent 65537, the longest accepted key.</summary>
    public const int MaxSubjectPublicKeyInfoLength = 550;

    private const string RsaEncryption = "1.2.840.113549.1.1.1";
    private const string EcPublicKey = "1.2.840.10045.2.1";
    private const string NistP256 = "1.2.840.10045.3.1.7";
    private const int P256PointLength = 65;

    /// <summary>Checks the key's shape and returns its algorithm and size in bits.</summary>
    /// <exception cref="IntegrityException">The bytes are not an accepted key (the message says why).</exception>
    public static (OwnerKeyAlgorithm Algorithm, int Bits) Check(ReadOnlySpan<byte> spki)
    {
        CheckLength(spki);
        try
        {
            return CheckDer(spki);
        }
        catch (AsnContentException e)
        {
            throw Refused("it is not a DER SubjectPublicKeyInfo", e);
        }
    }

    /// <summary>The first and cheapest part of <see cref="Check"/>: no accepted key is empty or longer than the longest.</summary>
    /// <exception cref="IntegrityException">The length alone rules the key out.</exception>
    public static void CheckLength(ReadOnlySpan<byte> spki)
    {
        if (spki.IsEmpty) throw Refused("it is empty");
        if (spki.Length > MaxSubjectPublicKeyInfoLength)
            throw Refused($"it is {spki.Length} bytes long, more than any accepted key ({MaxSubjectPublicKeyInfoLength})");
    }

    private static (OwnerKeyAlgorithm, int) CheckDer(ReadOnlySpan<byte> spki)
    {
        const AsnEncodingRules Der = AsnEncodingRules.DER;
        AsnDecoder.ReadSequence(spki, Der, out int bodyOffset, out int bodyLength, out int consumed);
        if (consumed != spki.Length) throw Refused("it has trailing bytes");
        var body = spki.Slice(bodyOffset, bodyLength);
        AsnDecoder.ReadSequence(body, Der, out int algOffset, out int algLength, out consumed);
        var algorithm = body.Slice(algOffset, algLength);
        var rest = body[consumed..];
        var keyBits = AsnDecoder.ReadBitString(rest, Der, out int unusedBits, out consumed);
        if (consumed != rest.Length || unusedBits != 0) throw Refused("its key field is malformed");

        string oid = AsnDecoder.ReadObjectIdentifier(algorithm, Der, out consumed);
        var parameters = algorithm[consumed..];
        switch (oid)
        {
            case RsaEncryption:
                AsnDecoder.ReadNull(parameters, Der, out consumed);
                if (consumed != parameters.Length) throw Refused("its RSA algorithm parameters are not NULL");
                return (OwnerKeyAlgorithm.Rsa, CheckRsa(keyBits));
            case EcPublicKey:
                string curve = AsnDecoder.ReadObjectIdentifier(parameters, Der, out consumed);
                if (consumed != parameters.Length || curve != NistP256)
                    throw Refused($"its elliptic curve {curve} is not P-256 ({NistP256})");
                if (keyBits.Length != P256PointLength || keyBits[0] != 0x04)
                    throw Refused("its P-256 point is not an uncompressed 65-byte point");
                return (OwnerKeyAlgorithm.EcdsaP256, 256);
            default:
                throw Refused($"its algorithm {oid} is neither RSA nor ECDSA P-256");
        }
    }

    private static int CheckRsa(ReadOnlySpan<byte> rsaPublicKey)
    {
        const AsnEncodingRules Der = AsnEncodingRules.DER;
        AsnDecoder.ReadSequence(rsaPublicKey, Der, out int offset, out int length, out int consumed);
        if (consumed != rsaPublicKey.Length) throw Refused("its RSA key has trailing bytes");
        var fields = rsaPublicKey.Slice(offset, length);
        var modulus = AsnDecoder.ReadIntegerBytes(fields, Der, out consumed);
        var exponent = AsnDecoder.ReadIntegerBytes(fields[consumed..], Der, out int exponentLength);
        if (consumed + exponentLength != fields.Length) throw Refused("its RSA key has extra fields");
        if (modulus.IsEmpty || modulus[0] >= 0x80) throw Refused("its RSA modulus is negative");
        if (modulus[0] == 0) modulus = modulus[1..]; // DER's sign byte; minimal encoding guarantees a non-zero byte follows
        int bits = (modulus.Length * 8) - System.Numerics.BitOperations.LeadingZeroCount((uint)modulus[0]) + 24;
        if (bits is < MinRsaModulusBits or > MaxRsaModulusBits)
            throw Refused($"its RSA modulus has {bits} bits ({MinRsaModulusBits} to {MaxRsaModulusBits} are accepted)");
        if ((modulus[^1] & 1) == 0) throw Refused("its RSA modulus is even");
        if (!exponent.SequenceEqual((ReadOnlySpan<byte>)[0x01, 0x00, 0x01]))
            throw Refused("its RSA exponent is not 65537");
        return bits;
    }

    private static IntegrityException Refused(string why, Exception? inner = null) => new(
        $"The owner public key is refused: {why}. Owner keys are RSA with a {MinRsaModulusBits}- to {MaxRsaModulusBits}-bit modulus and exponent 65537, or ECDSA P-256.",
        inner);
}
