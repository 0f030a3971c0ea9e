namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D) and generator 2 — the field of
/// Backblaze JavaReedSolomon, klauspost/reedsolomon and Intel ISA-L, so parity interoperates with all three.
/// </summary>
internal static class GaloisField
{
    /// <summary>The reducing polynomial, including the x^8 term.</summary>
    public const int Polynomial = 0x11D;

    private static readonly byte[] LogTable = new byte[256];

    // Doubled so that Exp[Log[a] + Log[b]] needs no modulo.
    private static readonly byte[] ExpTable = new byte[510];

    /// <summary>
    /// The full 256 × 256 product table: <c>MulTable[a * 256 + b] = a · b</c>. 64 KiB, used by the scalar kernel
    /// (one row of 256 bytes per coefficient stays in L1) and to build the SIMD tables.
    /// </summary>
    public static readonly byte[] MulTable = new byte[256 * 256];

    static GaloisField()
    {
        int x = 1;
        for (int i = 0; i < 255; i++)
        {
            ExpTable[i] = (byte)x;
            ExpTable[i + 255] = (byte)x;
            LogTable[x] = (byte)i;
            x <<= 1;
            if ((x & 0x100) != 0)
            {
                x ^= Polynomial;
            }
        }

        for (int a = 0; a < 256; a++)
        {
            for (int b = 0; b < 256; b++)
            {
                MulTable[(a << 8) | b] = MulSlow((byte)a, (byte)b);
            }
        }
    }

    private static byte MulSlow(byte a, byte b) =>
        a == 0 || b == 0 ? (byte)0 : ExpTable[LogTable[a] + LogTable[b]];

    /// <summary>a + b (and a − b): XOR.</summary>
    public static byte Add(byte a, byte b) => (byte)(a ^ b);

    /// <summary>a · b.</summary>
    public static byte Mul(byte a, byte b) => MulTable[(a << 8) | b];

    /// <summary>a / b.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static byte Div(byte a, byte b)
    {
        if (b == 0)
        {
            throw new DivideByZeroException("Division by zero in GF(2^8).");
        }

        return a == 0 ? (byte)0 : ExpTable[LogTable[a] + 255 - LogTable[b]];
    }

    /// <summary>The multiplicative inverse of a non-zero element.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="a"/> is zero.</exception>
    public static byte Inverse(byte a) => Div(1, a);

    /// <summary>
    /// a^n with Backblaze's convention (a^0 = 1 even for a = 0, 0^n = 0 otherwise); the Vandermonde matrix
    /// depends on exactly this.
    /// </summary>
    public static byte Pow(byte a, int n)
    {
        if (n == 0)
        {
            return 1;
        }

        if (a == 0)
        {
            return 0;
        }

        return ExpTable[LogTable[a] * n % 255];
    }

    /// <summary>
    /// The 8 × 8 bit matrix that makes GF2P8AFFINEQB multiply each byte by <paramref name="c"/> in this field.
    /// Column j of the linear map is c · 2^j; the instruction takes output bit i from the parity of
    /// (matrix byte 7 − i) AND input, so byte 7 − i holds bit i of every column.
    /// </summary>
    public static ulong AffineMatrix(byte c)
    {
        ulong matrix = 0;
        for (int i = 0; i < 8; i++)
        {
            int row = 0;
            for (int j = 0; j < 8; j++)
            {
                int column = Mul(c, (byte)(1 << j));
                row |= ((column >> i) & 1) << j;
            }

            matrix |= (ulong)row << (8 * (7 - i));
        }

        return matrix;
    }
}
