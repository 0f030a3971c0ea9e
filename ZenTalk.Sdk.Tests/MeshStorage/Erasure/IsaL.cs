using System.Runtime.InteropServices;

namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

/// <summary>Intel ISA-L (libisal.so.2) through P/Invoke: an independent GF(2^8) 0x11D implementation to cross-check against.</summary>
internal static unsafe partial class IsaL
{
    private const string Library = "libisal.so.2";

    public static bool IsAvailable { get; } = NativeLibrary.TryLoad(Library, out _);

    [LibraryImport(Library, EntryPoint = "gf_gen_cauchy1_matrix")]
    public static partial void GenerateCauchyMatrix(byte* a, int rows, int k);

    [LibraryImport(Library, EntryPoint = "ec_init_tables")]
    public static partial void InitTables(int k, int rows, byte* a, byte* tables);

    [LibraryImport(Library, EntryPoint = "ec_encode_data")]
    public static partial void EncodeData(int length, int k, int rows, byte* tables, byte** data, byte** coding);

    /// <summary>outputs[r] = sum over c of coefficients[r * k + c] · inputs[c], computed by ISA-L.</summary>
    public static void Apply(byte[] coefficients, byte[][] inputs, byte[][] outputs)
    {
        int k = inputs.Length, rows = outputs.Length, length = inputs[0].Length;
        var tables = new byte[32 * k * rows];
        var handles = new List<GCHandle>();
        try
        {
            byte** ins = stackalloc byte*[k];
            byte** outs = stackalloc byte*[rows];
            for (int i = 0; i < k; i++)
            {
                var h = GCHandle.Alloc(inputs[i], GCHandleType.Pinned);
                handles.Add(h);
                ins[i] = (byte*)h.AddrOfPinnedObject();
            }

            for (int i = 0; i < rows; i++)
            {
                var h = GCHandle.Alloc(outputs[i], GCHandleType.Pinned);
                handles.Add(h);
                outs[i] = (byte*)h.AddrOfPinnedObject();
            }

            fixed (byte* a = coefficients)
            fixed (byte* t = tables)
            {
                InitTables(k, rows, a, t);
                EncodeData(length, k, rows, t, ins, outs);
            }
        }
        finally
        {
            foreach (GCHandle h in handles)
            {
                h.Free();
            }
        }
    }
}
