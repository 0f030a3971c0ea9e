namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// RFC 4648 base32 in lower case without padding (alphabet <c>a-z2-7</c>), the text form of node ids and CIDs: URL-safe
/// and valid in a DNS label. Decoding accepts only the canonical text: exactly as many characters as the encoding of
/// the expected bytes, and zero bits in the last character's unused tail, so one value has one spelling.
/// </summary>
internal static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>How many characters <paramref name="bytes"/> bytes encode to.</summary>
    public static int EncodedLength(int bytes) => ((bytes * 8) + 4) / 5;

    /// <summary>Writes the encoding of <paramref name="data"/> to <paramref name="destination"/> (exactly <see cref="EncodedLength"/> characters).</summary>
    public static void Encode(ReadOnlySpan<byte> data, Span<char> destination)
    {
        if (destination.Length != EncodedLength(data.Length))
            throw new ArgumentException($"{data.Length} bytes encode to {EncodedLength(data.Length)} characters.", nameof(destination));
        int buffer = 0, bits = 0, n = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                destination[n++] = Alphabet[(buffer >> bits) & 31];
            }

            buffer &= (1 << bits) - 1;
        }

        if (bits > 0) destination[n] = Alphabet[(buffer << (5 - bits)) & 31];
    }

    /// <summary>
    /// Decodes canonical text into all of <paramref name="destination"/>; false when <paramref name="text"/> has another
    /// length, a character outside the alphabet (upper case counts only with <paramref name="ignoreCase"/>), or nonzero
    /// unused bits.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, bool ignoreCase)
    {
        if (text.Length != EncodedLength(destination.Length)) return false;
        int buffer = 0, bits = 0, n = 0;
        foreach (var raw in text)
        {
            var c = ignoreCase ? char.ToLowerInvariant(raw) : raw;
            var value = c switch
            {
                >= 'a' and <= 'z' => c - 'a',
                >= '2' and <= '7' => c - '2' + 26,
                _ => -1,
            };
            if (value < 0) return false;
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                destination[n++] = (byte)(buffer >> bits);
                buffer &= (1 << bits) - 1;
            }
        }

        // The leftover bits must be zero: otherwise two texts would name the same value.
        return buffer == 0;
    }
}
