using System.Runtime.InteropServices;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>
/// Intel ISA-L's erasure coder (libisal.so.2, Debian's libisal2 / libisal-dev) through P/Invoke: the native
/// peer our codec is measured against in the same run.
/// </summary>
internal static unsafe partial class IsaLPeer
{
    private const string Library = "libisal.so.2";

    /// <summary>Whether libisal.so.2 can be loaded here; when false the ISA-L benchmarks are filtered out and a note is printed.</summary>
    public static bool IsAvailable { get; } = NativeLibrary.TryLoad(Library, out _);

    [LibraryImport(Library, EntryPoint = "gf_gen_rs_matrix")]
    public static partial void GenerateRsMatrix(byte* a, int rows, int k);

    [LibraryImport(Library, EntryPoint = "gf_gen_cauchy1_matrix")]
    public static partial void GenerateCauchyMatrix(byte* a, int rows, int k);

    [LibraryImport(Library, EntryPoint = "gf_invert_matrix")]
    public static partial int InvertMatrix(byte* input, byte* output, int n);

    [LibraryImport(Library, EntryPoint = "ec_init_tables")]
    public static partial void InitTables(int k, int rows, byte* a, byte* tables);

    [LibraryImport(Library, EntryPoint = "ec_encode_data")]
    public static partial void EncodeData(int length, int k, int rows, byte* tables, byte** data, byte** coding);

    /// <summary>ec_encode_data's tables for the parity rows of ISA-L's own matrix (gf_gen_rs_matrix), as isal_bench.c builds them.</summary>
    public static byte[] EncodeTables(int k, int m)
    {
        var matrix = new byte[(k + m) * k];
        var tables = new byte[32 * k * m];
        fixed (byte* a = matrix)
        fixed (byte* t = tables)
        {
            GenerateRsMatrix(a, k + m, k);
            InitTables(k, m, a + k * k, t);
        }

        return tables;
    }

    /// <summary>
    /// ec_encode_data's tables that rebuild the first <paramref name="lost"/> data shards from shards lost .. lost + k
    /// (the inverse of their rows, inverted once, as isal_bench.c does).
    /// </summary>
    public static byte[] DecodeTables(int k, int m, int lost)
    {
        int total = k + m;
        var a = new byte[total * k];
        var b = new byte[k * k];
        var inverse = new byte[k * k];
        var tables = new byte[32 * k * lost];
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        fixed (byte* pinv = inverse)
        fixed (byte* t = tables)
        {
            GenerateRsMatrix(pa, total, k);
            Array.Copy(a, lost * k, b, 0, k * k);
            if (InvertMatrix(pb, pinv, k) != 0)
            {
                throw new InvalidOperationException("ISA-L could not invert its decode matrix.");
            }

            InitTables(k, lost, pinv, t);
        }

        return tables;
    }
}
