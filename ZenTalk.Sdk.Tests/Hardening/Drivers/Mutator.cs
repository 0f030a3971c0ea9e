namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Deterministic byte mutations in the style of AFL's havoc stage: bit flips, interesting values, inserts, deletes,
/// truncation, block duplication and splices with another input. The same seed gives the same sequence of cases.
/// </summary>
internal sealed class Mutator(int seed)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x40, 0x20, 0x10, 0x08];

    public Random Random { get; } = new(seed);

    /// <summary>Random bytes of a random length up to <paramref name="maxLength"/>.</summary>
    public byte[] RandomBytes(int maxLength)
    {
        var b = new byte[Random.Next(maxLength + 1)];
        Random.NextBytes(b);
        return b;
    }

    /// <summary>Applies 1-4 random mutations to a copy of <paramref name="input"/>; <paramref name="other"/> feeds splices.</summary>
    public byte[] Mutate(ReadOnlySpan<byte> input, ReadOnlySpan<byte> other = default)
    {
        var data = new List<byte>(input.ToArray());
        int rounds = 1 + Random.Next(4);
        for (int r = 0; r < rounds; r++)
        {
            int op = Random.Next(9);
            if (data.Count == 0) op = 4;
            switch (op)
            {
                case 0: // flip one bit
                    {
                        int i = Random.Next(data.Count);
                        data[i] ^= (byte)(1 << Random.Next(8));
                        break;
                    }
                case 1: // set an interesting byte
                    data[Random.Next(data.Count)] = Interesting[Random.Next(Interesting.Length)];
                    break;
                case 2: // random byte
                    data[Random.Next(data.Count)] = (byte)Random.Next(256);
                    break;
                case 3: // delete a block
                    {
                        int i = Random.Next(data.Count);
                        data.RemoveRange(i, Math.Min(data.Count - i, 1 + Random.Next(8)));
                        break;
                    }
                case 4: // insert random bytes
                    {
                        int i = Random.Next(data.Count + 1);
                        var ins = new byte[1 + Random.Next(8)];
                        Random.NextBytes(ins);
                        data.InsertRange(i, ins);
                        break;
                    }
                case 5: // truncate
                    {
                        int keep = Random.Next(data.Count);
                        data.RemoveRange(keep, data.Count - keep);
                    }
                    break;
                case 6: // duplicate a block
                    {
                        int i = Random.Next(data.Count);
                        int n = Math.Min(data.Count - i, 1 + Random.Next(16));
                        data.InsertRange(Random.Next(data.Count + 1), data.GetRange(i, n));
                        break;
                    }
                case 7: // splice with another input
                    if (other.Length > 0)
                    {
                        int cut = Random.Next(data.Count + 1);
                        int from = Random.Next(other.Length);
                        data.RemoveRange(cut, data.Count - cut);
                        data.AddRange(other[from..].ToArray());
                    }
                    break;
                default: // overwrite a 4-byte window with a little-endian extreme
                    {
                        int i = Random.Next(data.Count);
                        uint v = Random.Next(3) switch { 0 => uint.MaxValue, 1 => 0x80000000, _ => (uint)Random.Next() };
                        for (int k = 0; k < 4 && i + k < data.Count; k++) data[i + k] = (byte)(v >> (8 * k));
                        break;
                    }
            }
        }
        return data.ToArray();
    }
}
