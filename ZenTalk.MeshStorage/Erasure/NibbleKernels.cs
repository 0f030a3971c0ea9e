// The kernel bodies are written out in full (produced by a small script during development): one struct per
// vector width, the same shape in each — peeled first input, then two inputs per step with fused XORs, then an
// odd last input — and one statement per output slot 0..7 guarded by TN.Value, which the JIT folds per
// instantiation (see IOutputCount). When changing one kernel, change every width and every slot alike.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// Split-nibble kernels (ISA-L's technique): a · x = T_lo[x &amp; 15] ^ T_hi[x &gt;&gt; 4], with both 16-entry tables
/// held in vector registers and looked up by an in-lane byte shuffle.
/// </summary>
internal static unsafe class NibbleKernels
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

    /// <summary>64 bytes per step with VPSHUFB zmm (AVX-512BW).</summary>
    internal readonly struct V512 : IVectorKernel
    {
        public static int Width => 64;

        public static int EntryBytes => 128;

        public static bool IsSupported => Avx512BW.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector512<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            Vector512<byte> mask = Vector512.Create((byte)0x0F);
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = (Avx512BW.Shuffle(Vector512.Load(t + 0), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = (Avx512BW.Shuffle(Vector512.Load(t + 128), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (Avx512BW.Shuffle(Vector512.Load(t + 256), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (Avx512BW.Shuffle(Vector512.Load(t + 384), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (Avx512BW.Shuffle(Vector512.Load(t + 512), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (Avx512BW.Shuffle(Vector512.Load(t + 640), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (Avx512BW.Shuffle(Vector512.Load(t + 768), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (Avx512BW.Shuffle(Vector512.Load(t + 896), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0));
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
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> y0 = Vector512.Load(srcB + 0);
                Vector512<byte> loB0 = y0 & mask;
                Vector512<byte> hiB0 = Vector512.ShiftRightLogical(y0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(Xor3(a0_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo0), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 0), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 0 + 64), hiB0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(Xor3(a0_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo0), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 128), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 128 + 64), hiB0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(Xor3(a0_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo0), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 256), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 256 + 64), hiB0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(Xor3(a0_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo0), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 384), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 384 + 64), hiB0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(Xor3(a0_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo0), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 512), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 512 + 64), hiB0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(Xor3(a0_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo0), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 640), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 640 + 64), hiB0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(Xor3(a0_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo0), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 768), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 768 + 64), hiB0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(Xor3(a0_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo0), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 896), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 896 + 64), hiB0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(a0_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo0), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo0), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo0), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo0), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo0), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo0), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo0), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo0), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0));
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
            Vector512<byte> mask = Vector512.Create((byte)0x0F);
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> x1 = Vector512.Load(src + 64);
                Vector512<byte> lo1 = x1 & mask;
                Vector512<byte> hi1 = Vector512.ShiftRightLogical(x1.AsUInt16(), 4).AsByte() & mask;
                a0_0 = (Avx512BW.Shuffle(Vector512.Load(t + 0), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0));
                a1_0 = (Avx512BW.Shuffle(Vector512.Load(t + 0), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi1));
                if (TN.Value > 1)
                {
                    a0_1 = (Avx512BW.Shuffle(Vector512.Load(t + 128), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0));
                    a1_1 = (Avx512BW.Shuffle(Vector512.Load(t + 128), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi1));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (Avx512BW.Shuffle(Vector512.Load(t + 256), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0));
                    a1_2 = (Avx512BW.Shuffle(Vector512.Load(t + 256), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi1));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (Avx512BW.Shuffle(Vector512.Load(t + 384), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0));
                    a1_3 = (Avx512BW.Shuffle(Vector512.Load(t + 384), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi1));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (Avx512BW.Shuffle(Vector512.Load(t + 512), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0));
                    a1_4 = (Avx512BW.Shuffle(Vector512.Load(t + 512), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi1));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (Avx512BW.Shuffle(Vector512.Load(t + 640), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0));
                    a1_5 = (Avx512BW.Shuffle(Vector512.Load(t + 640), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi1));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (Avx512BW.Shuffle(Vector512.Load(t + 768), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0));
                    a1_6 = (Avx512BW.Shuffle(Vector512.Load(t + 768), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi1));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (Avx512BW.Shuffle(Vector512.Load(t + 896), lo0) ^ Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0));
                    a1_7 = (Avx512BW.Shuffle(Vector512.Load(t + 896), lo1) ^ Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi1));
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
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> y0 = Vector512.Load(srcB + 0);
                Vector512<byte> loB0 = y0 & mask;
                Vector512<byte> hiB0 = Vector512.ShiftRightLogical(y0.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> x1 = Vector512.Load(src + 64);
                Vector512<byte> lo1 = x1 & mask;
                Vector512<byte> hi1 = Vector512.ShiftRightLogical(x1.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> y1 = Vector512.Load(srcB + 64);
                Vector512<byte> loB1 = y1 & mask;
                Vector512<byte> hiB1 = Vector512.ShiftRightLogical(y1.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(Xor3(a0_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo0), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 0), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 0 + 64), hiB0));
                a1_0 = Xor3(Xor3(a1_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo1), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 0), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 0 + 64), hiB1));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(Xor3(a0_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo0), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 128), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 128 + 64), hiB0));
                    a1_1 = Xor3(Xor3(a1_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo1), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 128), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 128 + 64), hiB1));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(Xor3(a0_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo0), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 256), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 256 + 64), hiB0));
                    a1_2 = Xor3(Xor3(a1_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo1), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 256), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 256 + 64), hiB1));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(Xor3(a0_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo0), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 384), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 384 + 64), hiB0));
                    a1_3 = Xor3(Xor3(a1_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo1), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 384), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 384 + 64), hiB1));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(Xor3(a0_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo0), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 512), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 512 + 64), hiB0));
                    a1_4 = Xor3(Xor3(a1_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo1), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 512), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 512 + 64), hiB1));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(Xor3(a0_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo0), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 640), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 640 + 64), hiB0));
                    a1_5 = Xor3(Xor3(a1_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo1), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 640), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 640 + 64), hiB1));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(Xor3(a0_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo0), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 768), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 768 + 64), hiB0));
                    a1_6 = Xor3(Xor3(a1_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo1), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 768), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 768 + 64), hiB1));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(Xor3(a0_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo0), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0)), Avx512BW.Shuffle(Vector512.Load(tB + 896), loB0), Avx512BW.Shuffle(Vector512.Load(tB + 896 + 64), hiB0));
                    a1_7 = Xor3(Xor3(a1_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo1), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi1)), Avx512BW.Shuffle(Vector512.Load(tB + 896), loB1), Avx512BW.Shuffle(Vector512.Load(tB + 896 + 64), hiB1));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector512<byte> x0 = Vector512.Load(src + 0);
                Vector512<byte> lo0 = x0 & mask;
                Vector512<byte> hi0 = Vector512.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector512<byte> x1 = Vector512.Load(src + 64);
                Vector512<byte> lo1 = x1 & mask;
                Vector512<byte> hi1 = Vector512.ShiftRightLogical(x1.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(a0_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo0), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi0));
                a1_0 = Xor3(a1_0, Avx512BW.Shuffle(Vector512.Load(t + 0), lo1), Avx512BW.Shuffle(Vector512.Load(t + 0 + 64), hi1));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo0), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi0));
                    a1_1 = Xor3(a1_1, Avx512BW.Shuffle(Vector512.Load(t + 128), lo1), Avx512BW.Shuffle(Vector512.Load(t + 128 + 64), hi1));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo0), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi0));
                    a1_2 = Xor3(a1_2, Avx512BW.Shuffle(Vector512.Load(t + 256), lo1), Avx512BW.Shuffle(Vector512.Load(t + 256 + 64), hi1));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo0), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi0));
                    a1_3 = Xor3(a1_3, Avx512BW.Shuffle(Vector512.Load(t + 384), lo1), Avx512BW.Shuffle(Vector512.Load(t + 384 + 64), hi1));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo0), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi0));
                    a1_4 = Xor3(a1_4, Avx512BW.Shuffle(Vector512.Load(t + 512), lo1), Avx512BW.Shuffle(Vector512.Load(t + 512 + 64), hi1));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo0), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi0));
                    a1_5 = Xor3(a1_5, Avx512BW.Shuffle(Vector512.Load(t + 640), lo1), Avx512BW.Shuffle(Vector512.Load(t + 640 + 64), hi1));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo0), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi0));
                    a1_6 = Xor3(a1_6, Avx512BW.Shuffle(Vector512.Load(t + 768), lo1), Avx512BW.Shuffle(Vector512.Load(t + 768 + 64), hi1));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo0), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi0));
                    a1_7 = Xor3(a1_7, Avx512BW.Shuffle(Vector512.Load(t + 896), lo1), Avx512BW.Shuffle(Vector512.Load(t + 896 + 64), hi1));
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

    /// <summary>32 bytes per step with VPSHUFB ymm (AVX2).</summary>
    internal readonly struct V256 : IVectorKernel
    {
        public static int Width => 32;

        public static int EntryBytes => 128;

        public static bool IsSupported => Avx2.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector256<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            Vector256<byte> mask = Vector256.Create((byte)0x0F);
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> lo0 = x0 & mask;
                Vector256<byte> hi0 = Vector256.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = (Avx2.Shuffle(Vector256.Load(t + 0), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = (Avx2.Shuffle(Vector256.Load(t + 128), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (Avx2.Shuffle(Vector256.Load(t + 256), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (Avx2.Shuffle(Vector256.Load(t + 384), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (Avx2.Shuffle(Vector256.Load(t + 512), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (Avx2.Shuffle(Vector256.Load(t + 640), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (Avx2.Shuffle(Vector256.Load(t + 768), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (Avx2.Shuffle(Vector256.Load(t + 896), lo0) ^ Avx2.Shuffle(Vector256.Load(t + 896 + 64), hi0));
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
                Vector256<byte> lo0 = x0 & mask;
                Vector256<byte> hi0 = Vector256.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector256<byte> y0 = Vector256.Load(srcB + 0);
                Vector256<byte> loB0 = y0 & mask;
                Vector256<byte> hiB0 = Vector256.ShiftRightLogical(y0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(Xor3(a0_0, Avx2.Shuffle(Vector256.Load(t + 0), lo0), Avx2.Shuffle(Vector256.Load(t + 0 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 0), loB0), Avx2.Shuffle(Vector256.Load(tB + 0 + 64), hiB0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(Xor3(a0_1, Avx2.Shuffle(Vector256.Load(t + 128), lo0), Avx2.Shuffle(Vector256.Load(t + 128 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 128), loB0), Avx2.Shuffle(Vector256.Load(tB + 128 + 64), hiB0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(Xor3(a0_2, Avx2.Shuffle(Vector256.Load(t + 256), lo0), Avx2.Shuffle(Vector256.Load(t + 256 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 256), loB0), Avx2.Shuffle(Vector256.Load(tB + 256 + 64), hiB0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(Xor3(a0_3, Avx2.Shuffle(Vector256.Load(t + 384), lo0), Avx2.Shuffle(Vector256.Load(t + 384 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 384), loB0), Avx2.Shuffle(Vector256.Load(tB + 384 + 64), hiB0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(Xor3(a0_4, Avx2.Shuffle(Vector256.Load(t + 512), lo0), Avx2.Shuffle(Vector256.Load(t + 512 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 512), loB0), Avx2.Shuffle(Vector256.Load(tB + 512 + 64), hiB0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(Xor3(a0_5, Avx2.Shuffle(Vector256.Load(t + 640), lo0), Avx2.Shuffle(Vector256.Load(t + 640 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 640), loB0), Avx2.Shuffle(Vector256.Load(tB + 640 + 64), hiB0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(Xor3(a0_6, Avx2.Shuffle(Vector256.Load(t + 768), lo0), Avx2.Shuffle(Vector256.Load(t + 768 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 768), loB0), Avx2.Shuffle(Vector256.Load(tB + 768 + 64), hiB0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(Xor3(a0_7, Avx2.Shuffle(Vector256.Load(t + 896), lo0), Avx2.Shuffle(Vector256.Load(t + 896 + 64), hi0)), Avx2.Shuffle(Vector256.Load(tB + 896), loB0), Avx2.Shuffle(Vector256.Load(tB + 896 + 64), hiB0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector256<byte> x0 = Vector256.Load(src + 0);
                Vector256<byte> lo0 = x0 & mask;
                Vector256<byte> hi0 = Vector256.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(a0_0, Avx2.Shuffle(Vector256.Load(t + 0), lo0), Avx2.Shuffle(Vector256.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Avx2.Shuffle(Vector256.Load(t + 128), lo0), Avx2.Shuffle(Vector256.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Avx2.Shuffle(Vector256.Load(t + 256), lo0), Avx2.Shuffle(Vector256.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Avx2.Shuffle(Vector256.Load(t + 384), lo0), Avx2.Shuffle(Vector256.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Avx2.Shuffle(Vector256.Load(t + 512), lo0), Avx2.Shuffle(Vector256.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Avx2.Shuffle(Vector256.Load(t + 640), lo0), Avx2.Shuffle(Vector256.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Avx2.Shuffle(Vector256.Load(t + 768), lo0), Avx2.Shuffle(Vector256.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Avx2.Shuffle(Vector256.Load(t + 896), lo0), Avx2.Shuffle(Vector256.Load(t + 896 + 64), hi0));
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
            Block<TN>(inputs, inCount, outputs, tables, stride, i);
            Block<TN>(inputs, inCount, outputs, tables, stride, i + 32);
        }
    }

    /// <summary>16 bytes per step with Vector128.ShuffleNative (PSHUFB on x86, TBL on ARM64).</summary>
    internal readonly struct V128 : IVectorKernel
    {
        public static int Width => 16;

        public static int EntryBytes => 128;

        public static bool IsSupported => Vector128.IsHardwareAccelerated && (Ssse3.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
            where TN : struct, IOutputCount
        {
            Vector128<byte> a0_0 = default, a0_1 = default, a0_2 = default, a0_3 = default, a0_4 = default, a0_5 = default, a0_6 = default, a0_7 = default;
            Vector128<byte> mask = Vector128.Create((byte)0x0F);
            {
                byte* src = inputs[0] + i;
                byte* t = tables;
                Vector128<byte> x0 = Vector128.Load(src + 0);
                Vector128<byte> lo0 = x0 & mask;
                Vector128<byte> hi0 = Vector128.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = (Vector128.ShuffleNative(Vector128.Load(t + 0), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = (Vector128.ShuffleNative(Vector128.Load(t + 128), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = (Vector128.ShuffleNative(Vector128.Load(t + 256), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = (Vector128.ShuffleNative(Vector128.Load(t + 384), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = (Vector128.ShuffleNative(Vector128.Load(t + 512), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = (Vector128.ShuffleNative(Vector128.Load(t + 640), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = (Vector128.ShuffleNative(Vector128.Load(t + 768), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = (Vector128.ShuffleNative(Vector128.Load(t + 896), lo0) ^ Vector128.ShuffleNative(Vector128.Load(t + 896 + 64), hi0));
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
                Vector128<byte> lo0 = x0 & mask;
                Vector128<byte> hi0 = Vector128.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                Vector128<byte> y0 = Vector128.Load(srcB + 0);
                Vector128<byte> loB0 = y0 & mask;
                Vector128<byte> hiB0 = Vector128.ShiftRightLogical(y0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(Xor3(a0_0, Vector128.ShuffleNative(Vector128.Load(t + 0), lo0), Vector128.ShuffleNative(Vector128.Load(t + 0 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 0), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 0 + 64), hiB0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(Xor3(a0_1, Vector128.ShuffleNative(Vector128.Load(t + 128), lo0), Vector128.ShuffleNative(Vector128.Load(t + 128 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 128), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 128 + 64), hiB0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(Xor3(a0_2, Vector128.ShuffleNative(Vector128.Load(t + 256), lo0), Vector128.ShuffleNative(Vector128.Load(t + 256 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 256), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 256 + 64), hiB0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(Xor3(a0_3, Vector128.ShuffleNative(Vector128.Load(t + 384), lo0), Vector128.ShuffleNative(Vector128.Load(t + 384 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 384), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 384 + 64), hiB0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(Xor3(a0_4, Vector128.ShuffleNative(Vector128.Load(t + 512), lo0), Vector128.ShuffleNative(Vector128.Load(t + 512 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 512), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 512 + 64), hiB0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(Xor3(a0_5, Vector128.ShuffleNative(Vector128.Load(t + 640), lo0), Vector128.ShuffleNative(Vector128.Load(t + 640 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 640), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 640 + 64), hiB0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(Xor3(a0_6, Vector128.ShuffleNative(Vector128.Load(t + 768), lo0), Vector128.ShuffleNative(Vector128.Load(t + 768 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 768), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 768 + 64), hiB0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(Xor3(a0_7, Vector128.ShuffleNative(Vector128.Load(t + 896), lo0), Vector128.ShuffleNative(Vector128.Load(t + 896 + 64), hi0)), Vector128.ShuffleNative(Vector128.Load(tB + 896), loB0), Vector128.ShuffleNative(Vector128.Load(tB + 896 + 64), hiB0));
                }
            }

            if (c < inCount)
            {
                byte* src = inputs[c] + i;
                byte* t = tables + c * stride;
                Vector128<byte> x0 = Vector128.Load(src + 0);
                Vector128<byte> lo0 = x0 & mask;
                Vector128<byte> hi0 = Vector128.ShiftRightLogical(x0.AsUInt16(), 4).AsByte() & mask;
                a0_0 = Xor3(a0_0, Vector128.ShuffleNative(Vector128.Load(t + 0), lo0), Vector128.ShuffleNative(Vector128.Load(t + 0 + 64), hi0));
                if (TN.Value > 1)
                {
                    a0_1 = Xor3(a0_1, Vector128.ShuffleNative(Vector128.Load(t + 128), lo0), Vector128.ShuffleNative(Vector128.Load(t + 128 + 64), hi0));
                }
                if (TN.Value > 2)
                {
                    a0_2 = Xor3(a0_2, Vector128.ShuffleNative(Vector128.Load(t + 256), lo0), Vector128.ShuffleNative(Vector128.Load(t + 256 + 64), hi0));
                }
                if (TN.Value > 3)
                {
                    a0_3 = Xor3(a0_3, Vector128.ShuffleNative(Vector128.Load(t + 384), lo0), Vector128.ShuffleNative(Vector128.Load(t + 384 + 64), hi0));
                }
                if (TN.Value > 4)
                {
                    a0_4 = Xor3(a0_4, Vector128.ShuffleNative(Vector128.Load(t + 512), lo0), Vector128.ShuffleNative(Vector128.Load(t + 512 + 64), hi0));
                }
                if (TN.Value > 5)
                {
                    a0_5 = Xor3(a0_5, Vector128.ShuffleNative(Vector128.Load(t + 640), lo0), Vector128.ShuffleNative(Vector128.Load(t + 640 + 64), hi0));
                }
                if (TN.Value > 6)
                {
                    a0_6 = Xor3(a0_6, Vector128.ShuffleNative(Vector128.Load(t + 768), lo0), Vector128.ShuffleNative(Vector128.Load(t + 768 + 64), hi0));
                }
                if (TN.Value > 7)
                {
                    a0_7 = Xor3(a0_7, Vector128.ShuffleNative(Vector128.Load(t + 896), lo0), Vector128.ShuffleNative(Vector128.Load(t + 896 + 64), hi0));
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
