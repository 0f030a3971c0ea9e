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
}
