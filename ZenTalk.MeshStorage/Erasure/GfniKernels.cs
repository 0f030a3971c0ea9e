// The kernel bodies are written out in full (produced by a small script during development): one struct per
// vector width, the same shape in each — peeled first input, then two inputs per step with fused XORs, then an
// odd last input — and one statement per output slot 0..7 guarded by TN.Value, which the JIT folds per
// instantiation (see IOutputCount). When changing one kernel, change every width and every slot alike.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>GF2P8AFFINEQB kernels: one affine instruction multiplies a whole vector by a constant (an 8x8 bit matrix).</summary>
internal static unsafe class GfniKernels
{
    // a ^ b ^ c in one VPTERNLOGD where AVX-512 allows it (the JIT does not fuse chained XORs by itself).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Xor3(Vector512<byte> a, Vector512<byte> b, Vector512<byte> c) => Avx512F.TernaryLogic(a, b, c, 0x96);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Xor3(Vector256<byte> a, Vector256<byte> b, Vector256<byte> c) =>
        Avx512F.VL.IsSupported ? Avx512F.VL.TernaryLogic(a, b, c, 0x96) : a ^ b ^ c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Xor3(Vector128<byte> a, Vector128<byte> b, Vector128<byte> c) =>
        Avx512F.VL.IsSupported ? Avx512F.VL.TernaryLogic(a, b, c, 0x96) : a ^ b ^ c;

    /// <summary>64 bytes per step (AVX-512F + GFNI).</summary>
    internal readonly struct V512 : IVectorKernel
    {
        public static int Width => 64;

        public static int EntryBytes => 64;

        public static bool IsSupported => Gfni.V512.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector512<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                a0_0 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0);
                if (TN.Value > 1)
                {
                    a0_1 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0);
                }
                if (TN.Value > 2)
                {
                    a0_2 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0);
                }
                if (TN.Value > 3)
                {
                    a0_3 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0);
                }
                if (TN.Value > 4)
                {
                    a0_4 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0);
                }
                if (TN.Value > 5)
                {
                    a0_5 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0);
                }
                if (TN.Value > 6)
                {
                    a0_6 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0);
                }
                if (TN.Value > 7)
                {
                    a0_7 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0);
                }
            }

            int c = 1;
            for (; c + 1 < inCount; c += 2)
            {
                byte* src = inputs[c] + i;
                byte* srcB = inputs[c + 1] + i;
                byte* t = tables + c * stride;
                byte* tB = t + stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> y0 = Vector512.Load(srcB + 0);
                a0_0 = Xor3(a0_0, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 448), 0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                a0_0 = (a0_0 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = (a0_1 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (a0_2 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (a0_3 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (a0_4 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (a0_5 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (a0_6 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (a0_7 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0));
                }
            }

            Vector512.Store(a0_0, outputs[0] + i + 0);
            if (TN.Value > 1)
            {
                Vector512.Store(a0_1, outputs[1] + i + 0);
            }
            if (TN.Value > 2)
            {
                Vector512.Store(a0_2, outputs[2] + i + 0);
            }
            if (TN.Value > 3)
            {
                Vector512.Store(a0_3, outputs[3] + i + 0);
            }
            if (TN.Value > 4)
            {
                Vector512.Store(a0_4, outputs[4] + i + 0);
            }
            if (TN.Value > 5)
            {
                Vector512.Store(a0_5, outputs[5] + i + 0);
            }
            if (TN.Value > 6)
            {
                Vector512.Store(a0_6, outputs[6] + i + 0);
            }
            if (TN.Value > 7)
            {
                Vector512.Store(a0_7, outputs[7] + i + 0);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block2<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector512<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            Vector512<byte> a1_0 = default, a1_1 = default, a1_2 = default, a1_3 = default, a1_4 = default, a1_5 = default, a1_6 = default, a1_7 = default;
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> x1 = Vector512.Load(src + 64);
                a0_0 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0);
                a1_0 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 0), 0);
                if (TN.Value > 1)
                {
                    a0_1 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0);
                    a1_1 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 64), 0);
                }
                if (TN.Value > 2)
                {
                    a0_2 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0);
                    a1_2 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 128), 0);
                }
                if (TN.Value > 3)
                {
                    a0_3 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0);
                    a1_3 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 192), 0);
                }
                if (TN.Value > 4)
                {
                    a0_4 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0);
                    a1_4 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 256), 0);
                }
                if (TN.Value > 5)
                {
                    a0_5 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0);
                    a1_5 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 320), 0);
                }
                if (TN.Value > 6)
                {
                    a0_6 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0);
                    a1_6 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 384), 0);
                }
                if (TN.Value > 7)
                {
                    a0_7 = Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0);
                    a1_7 = Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 448), 0);
                }
            }

            int c = 1;
            for (; c + 1 < inCount; c += 2)
            {
                byte* src = inputs[c] + i;
                byte* srcB = inputs[c + 1] + i;
                byte* t = tables + c * stride;
                byte* tB = t + stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> y0 = Vector512.Load(srcB + 0);
                Vector512<byte> x1 = Vector512.Load(src + 64);
                Vector512<byte> y1 = Vector512.Load(srcB + 64);
                a0_0 = Xor3(a0_0, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 0), 0));
                a1_0 = Xor3(a1_0, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 0), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 64), 0));
                    a1_1 = Xor3(a1_1, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 64), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 128), 0));
                    a1_2 = Xor3(a1_2, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 128), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 192), 0));
                    a1_3 = Xor3(a1_3, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 192), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 256), 0));
                    a1_4 = Xor3(a1_4, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 256), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 320), 0));
                    a1_5 = Xor3(a1_5, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 320), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 384), 0));
                    a1_6 = Xor3(a1_6, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 384), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0), Gfni.V512.GaloisFieldAffineTransform(y0, Vector512.Load(tB + 448), 0));
                    a1_7 = Xor3(a1_7, Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 448), 0), Gfni.V512.GaloisFieldAffineTransform(y1, Vector512.Load(tB + 448), 0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> x1 = Vector512.Load(src + 64);
                a0_0 = (a0_0 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 0), 0));
                a1_0 = (a1_0 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = (a0_1 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 64), 0));
                    a1_1 = (a1_1 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (a0_2 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 128), 0));
                    a1_2 = (a1_2 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (a0_3 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 192), 0));
                    a1_3 = (a1_3 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (a0_4 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 256), 0));
                    a1_4 = (a1_4 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (a0_5 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 320), 0));
                    a1_5 = (a1_5 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (a0_6 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 384), 0));
                    a1_6 = (a1_6 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (a0_7 ^ Gfni.V512.GaloisFieldAffineTransform(x0, Vector512.Load(t + 448), 0));
                    a1_7 = (a1_7 ^ Gfni.V512.GaloisFieldAffineTransform(x1, Vector512.Load(t + 448), 0));
                }
            }

            Vector512.Store(a0_0, outputs[0] + i + 0);
            Vector512.Store(a1_0, outputs[0] + i + 64);
            if (TN.Value > 1)
            {
                Vector512.Store(a0_1, outputs[1] + i + 0);
                Vector512.Store(a1_1, outputs[1] + i + 64);
            }
            if (TN.Value > 2)
            {
                Vector512.Store(a0_2, outputs[2] + i + 0);
                Vector512.Store(a1_2, outputs[2] + i + 64);
            }
            if (TN.Value > 3)
            {
                Vector512.Store(a0_3, outputs[3] + i + 0);
                Vector512.Store(a1_3, outputs[3] + i + 64);
            }
            if (TN.Value > 4)
            {
                Vector512.Store(a0_4, outputs[4] + i + 0);
                Vector512.Store(a1_4, outputs[4] + i + 64);
            }
            if (TN.Value > 5)
            {
                Vector512.Store(a0_5, outputs[5] + i + 0);
                Vector512.Store(a1_5, outputs[5] + i + 64);
            }
            if (TN.Value > 6)
            {
                Vector512.Store(a0_6, outputs[6] + i + 0);
                Vector512.Store(a1_6, outputs[6] + i + 64);
            }
            if (TN.Value > 7)
            {
                Vector512.Store(a0_7, outputs[7] + i + 0);
                Vector512.Store(a1_7, outputs[7] + i + 64);
            }
        }
    }

    /// <summary>32 bytes per step (AVX + GFNI).</summary>
    internal readonly struct V256 : IVectorKernel
    {
        public static int Width => 32;

        public static int EntryBytes => 64;

        public static bool IsSupported => Gfni.V256.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector256<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                a0_0 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0);
                if (TN.Value > 1)
                {
                    a0_1 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0);
                }
                if (TN.Value > 2)
                {
                    a0_2 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0);
                }
                if (TN.Value > 3)
                {
                    a0_3 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0);
                }
                if (TN.Value > 4)
                {
                    a0_4 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0);
                }
                if (TN.Value > 5)
                {
                    a0_5 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0);
                }
                if (TN.Value > 6)
                {
                    a0_6 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0);
                }
                if (TN.Value > 7)
                {
                    a0_7 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0);
                }
            }

            int c = 1;
            for (; c + 1 < inCount; c += 2)
            {
                byte* src = inputs[c] + i;
                byte* srcB = inputs[c + 1] + i;
                byte* t = tables + c * stride;
                byte* tB = t + stride;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> y0 = Vector256.Load(srcB + 0);
                a0_0 = Xor3(a0_0, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 448), 0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                a0_0 = (a0_0 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = (a0_1 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (a0_2 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (a0_3 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (a0_4 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (a0_5 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (a0_6 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (a0_7 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0));
                }
            }

            Vector256.Store(a0_0, outputs[0] + i + 0);
            if (TN.Value > 1)
            {
                Vector256.Store(a0_1, outputs[1] + i + 0);
            }
            if (TN.Value > 2)
            {
                Vector256.Store(a0_2, outputs[2] + i + 0);
            }
            if (TN.Value > 3)
            {
                Vector256.Store(a0_3, outputs[3] + i + 0);
            }
            if (TN.Value > 4)
            {
                Vector256.Store(a0_4, outputs[4] + i + 0);
            }
            if (TN.Value > 5)
            {
                Vector256.Store(a0_5, outputs[5] + i + 0);
            }
            if (TN.Value > 6)
            {
                Vector256.Store(a0_6, outputs[6] + i + 0);
            }
            if (TN.Value > 7)
            {
                Vector256.Store(a0_7, outputs[7] + i + 0);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block2<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector256<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            Vector256<byte> a1_0 = default, a1_1 = default, a1_2 = default, a1_3 = default, a1_4 = default, a1_5 = default, a1_6 = default, a1_7 = default;
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> x1 = Vector256.Load(src + 32);
                a0_0 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0);
                a1_0 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 0), 0);
                if (TN.Value > 1)
                {
                    a0_1 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0);
                    a1_1 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 64), 0);
                }
                if (TN.Value > 2)
                {
                    a0_2 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0);
                    a1_2 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 128), 0);
                }
                if (TN.Value > 3)
                {
                    a0_3 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0);
                    a1_3 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 192), 0);
                }
                if (TN.Value > 4)
                {
                    a0_4 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0);
                    a1_4 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 256), 0);
                }
                if (TN.Value > 5)
                {
                    a0_5 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0);
                    a1_5 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 320), 0);
                }
                if (TN.Value > 6)
                {
                    a0_6 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0);
                    a1_6 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 384), 0);
                }
                if (TN.Value > 7)
                {
                    a0_7 = Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0);
                    a1_7 = Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 448), 0);
                }
            }

            int c = 1;
            for (; c + 1 < inCount; c += 2)
            {
                byte* src = inputs[c] + i;
                byte* srcB = inputs[c + 1] + i;
                byte* t = tables + c * stride;
                byte* tB = t + stride;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> y0 = Vector256.Load(srcB + 0);
                Vector256<byte> x1 = Vector256.Load(src + 32);
                Vector256<byte> y1 = Vector256.Load(srcB + 32);
                a0_0 = Xor3(a0_0, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 0), 0));
                a1_0 = Xor3(a1_0, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 0), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 64), 0));
                    a1_1 = Xor3(a1_1, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 64), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 128), 0));
                    a1_2 = Xor3(a1_2, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 128), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 192), 0));
                    a1_3 = Xor3(a1_3, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 192), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 256), 0));
                    a1_4 = Xor3(a1_4, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 256), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 320), 0));
                    a1_5 = Xor3(a1_5, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 320), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 384), 0));
                    a1_6 = Xor3(a1_6, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 384), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0), Gfni.V256.GaloisFieldAffineTransform(y0, Vector256.Load(tB + 448), 0));
                    a1_7 = Xor3(a1_7, Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 448), 0), Gfni.V256.GaloisFieldAffineTransform(y1, Vector256.Load(tB + 448), 0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> x1 = Vector256.Load(src + 32);
                a0_0 = (a0_0 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 0), 0));
                a1_0 = (a1_0 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = (a0_1 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 64), 0));
                    a1_1 = (a1_1 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (a0_2 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 128), 0));
                    a1_2 = (a1_2 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (a0_3 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 192), 0));
                    a1_3 = (a1_3 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (a0_4 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 256), 0));
                    a1_4 = (a1_4 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (a0_5 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 320), 0));
                    a1_5 = (a1_5 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (a0_6 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 384), 0));
                    a1_6 = (a1_6 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (a0_7 ^ Gfni.V256.GaloisFieldAffineTransform(x0, Vector256.Load(t + 448), 0));
                    a1_7 = (a1_7 ^ Gfni.V256.GaloisFieldAffineTransform(x1, Vector256.Load(t + 448), 0));
                }
            }

            Vector256.Store(a0_0, outputs[0] + i + 0);
            Vector256.Store(a1_0, outputs[0] + i + 32);
            if (TN.Value > 1)
            {
                Vector256.Store(a0_1, outputs[1] + i + 0);
                Vector256.Store(a1_1, outputs[1] + i + 32);
            }
            if (TN.Value > 2)
            {
                Vector256.Store(a0_2, outputs[2] + i + 0);
                Vector256.Store(a1_2, outputs[2] + i + 32);
            }
            if (TN.Value > 3)
            {
                Vector256.Store(a0_3, outputs[3] + i + 0);
                Vector256.Store(a1_3, outputs[3] + i + 32);
            }
            if (TN.Value > 4)
            {
                Vector256.Store(a0_4, outputs[4] + i + 0);
                Vector256.Store(a1_4, outputs[4] + i + 32);
            }
            if (TN.Value > 5)
            {
                Vector256.Store(a0_5, outputs[5] + i + 0);
                Vector256.Store(a1_5, outputs[5] + i + 32);
            }
            if (TN.Value > 6)
            {
                Vector256.Store(a0_6, outputs[6] + i + 0);
                Vector256.Store(a1_6, outputs[6] + i + 32);
            }
            if (TN.Value > 7)
            {
                Vector256.Store(a0_7, outputs[7] + i + 0);
                Vector256.Store(a1_7, outputs[7] + i + 32);
            }
        }
    }

    /// <summary>16 bytes per step (SSE + GFNI); used for short tails.</summary>
    internal readonly struct V128 : IVectorKernel
    {
        public static int Width => 16;

        public static int EntryBytes => 64;

        public static bool IsSupported => Gfni.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector128<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector128<byte> x0 = Vector128.Load(src + 0);
                a0_0 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 0), 0);
                if (TN.Value > 1)
                {
                    a0_1 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 64), 0);
                }
                if (TN.Value > 2)
                {
                    a0_2 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 128), 0);
                }
                if (TN.Value > 3)
                {
                    a0_3 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 192), 0);
                }
                if (TN.Value > 4)
                {
                    a0_4 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 256), 0);
                }
                if (TN.Value > 5)
                {
                    a0_5 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 320), 0);
                }
                if (TN.Value > 6)
                {
                    a0_6 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 384), 0);
                }
                if (TN.Value > 7)
                {
                    a0_7 = Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 448), 0);
                }
            }

            int c = 1;
            for (; c + 1 < inCount; c += 2)
            {
                byte* src = inputs[c] + i;
                byte* srcB = inputs[c + 1] + i;
                byte* t = tables + c * stride;
                byte* tB = t + stride;
                Vector128<byte> x0 = Vector128.Load(src + 0);
                Vector128<byte> y0 = Vector128.Load(srcB + 0);
                a0_0 = Xor3(a0_0, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 0), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 64), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 128), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 192), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 256), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 320), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 384), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 448), 0), Gfni.GaloisFieldAffineTransform(y0, Vector128.Load(tB + 448), 0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector128<byte> x0 = Vector128.Load(src + 0);
                a0_0 = (a0_0 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 0), 0));
                if (TN.Value > 1)
                {
                    a0_1 = (a0_1 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 64), 0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (a0_2 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 128), 0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (a0_3 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 192), 0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (a0_4 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 256), 0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (a0_5 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 320), 0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (a0_6 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 384), 0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (a0_7 ^ Gfni.GaloisFieldAffineTransform(x0, Vector128.Load(t + 448), 0));
                }
            }

            Vector128.Store(a0_0, outputs[0] + i + 0);
            if (TN.Value > 1)
            {
                Vector128.Store(a0_1, outputs[1] + i + 0);
            }
            if (TN.Value > 2)
            {
                Vector128.Store(a0_2, outputs[2] + i + 0);
            }
            if (TN.Value > 3)
            {
                Vector128.Store(a0_3, outputs[3] + i + 0);
            }
            if (TN.Value > 4)
            {
                Vector128.Store(a0_4, outputs[4] + i + 0);
            }
            if (TN.Value > 5)
            {
                Vector128.Store(a0_5, outputs[5] + i + 0);
            }
            if (TN.Value > 6)
            {
                Vector128.Store(a0_6, outputs[6] + i + 0);
            }
            if (TN.Value > 7)
            {
                Vector128.Store(a0_7, outputs[7] + i + 0);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block2<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Block<TN>(inputs, inCount, outputs, tables, stride, i);
            Block<TN>(inputs, inCount, outputs, tables, stride, i + 16);
        }
    }
}
