using System.Runtime.CompilerServices;
using static ZenTalk.MeshStorage.Erasure.OutputCount;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// outputs = coefficients × inputs for one fixed coefficient matrix (the parity rows for Encode, or a decode
/// matrix for one erasure pattern), with the kernel's lookup tables expanded once at construction so the hot path
/// allocates nothing. Immutable, so one plan is shared by every thread.
/// </summary>
internal sealed unsafe class CodingPlan
{
    private const int GfniEntryBytes = 64;
    private const int NibbleEntryBytes = 128;

    // Inputs of one column block (all inputs × BlockBytes) should stay in L2 while every output group reads them.
    private const int BlockBudgetBytes = 256 * 1024;

    // Longest range (bytes per shard) for which the 4K-aliasing heuristic may choose the downward walk.
    private const int DescendingMaxBytes = 128 * 1024;

    private readonly byte[] _coefficients;
    private readonly byte[]? _tableStorage; // pinned (POH); _tables points into it, 64-byte aligned
    private readonly byte* _tables;
    private readonly nint _blockBytes;

    public CodingPlan(GfMatrix matrix, ReedSolomonKernel kernel)
    {
        Inputs = matrix.Columns;
        Outputs = matrix.Rows;
        Kernel = kernel;
        _coefficients = new byte[Inputs * Outputs];
        for (int r = 0; r < Outputs; r++)
        {
            matrix.Row(r).CopyTo(_coefficients.AsSpan(r * Inputs, Inputs));
        }

        _blockBytes = Math.Max(1024, BlockBudgetBytes / Inputs / 64 * 64);

        int entry = kernel switch
        {
            ReedSolomonKernel.Gfni512 or ReedSolomonKernel.Gfni256 => GfniEntryBytes,
            ReedSolomonKernel.Avx512 or ReedSolomonKernel.Avx2 or ReedSolomonKernel.Vector128 => NibbleEntryBytes,
            _ => 0,
        };
        if (entry == 0)
        {
            return;
        }

        _tableStorage = GC.AllocateArray<byte>(Inputs * Outputs * entry + 63, pinned: true);
        byte* baseAddress = (byte*)Unsafe.AsPointer(ref _tableStorage[0]);
        _tables = (byte*)(((nint)baseAddress + 63) & ~(nint)63);
        for (int c = 0; c < Inputs; c++)
        {
            for (int r = 0; r < Outputs; r++)
            {
                byte coefficient = _coefficients[r * Inputs + c];
                var e = new Span<byte>(_tables + (c * Outputs + r) * entry, entry);
                if (entry == GfniEntryBytes)
                {
                    ulong affine = GaloisField.AffineMatrix(coefficient);
                    for (int q = 0; q < 8; q++)
                    {
                        Unsafe.WriteUnaligned(ref e[q * 8], affine);
                    }
                }
                else
                {
                    for (int x = 0; x < 64; x++)
                    {
                        e[x] = GaloisField.Mul(coefficient, (byte)(x & 15));
                        e[64 + x] = GaloisField.Mul(coefficient, (byte)((x & 15) << 4));
                    }
                }
            }
        }
    }

    public int Inputs { get; }

    public int Outputs { get; }

    public ReedSolomonKernel Kernel { get; }

    /// <summary>The coefficient of input <paramref name="input"/> in output <paramref name="output"/>.</summary>
    public byte Coefficient(int output, int input) => _coefficients[output * Inputs + input];

    /// <summary>Overwrites <c>outputs[r][start .. end)</c> with row r of the matrix applied to the inputs.</summary>
    public void Run(byte** inputs, byte** outputs, nint start, nint end)
    {
        nint length = end - start;
        if (length <= 0)
        {
            return;
        }

        // Only short ranges walk downwards: on shards that stream from L3 the downward walk measured slower than
        // the aliasing it avoids (1 MiB separate-array encode/reconstruct), on cache-resident ones it measured faster.
        bool descending = length <= DescendingMaxBytes && PreferDescending(inputs, Inputs, outputs, Outputs);

        switch (Kernel)
        {
            case ReedSolomonKernel.Gfni512:
                if (length >= 64)
                {
                    RunVector<GfniKernels.V512>(inputs, outputs, start, end, 8, descending);
                    return;
                }

                goto case ReedSolomonKernel.Gfni256;
            case ReedSolomonKernel.Gfni256:
                if (length >= 32)
                {
                    RunVector<GfniKernels.V256>(inputs, outputs, start, end, KernelSelector.HasThirtyTwoVectorRegisters ? 8 : 6, descending);
                }
                else if (length >= 16)
                {
                    RunVector<GfniKernels.V128>(inputs, outputs, start, end, 6, descending);
                }
                else
                {
                    ScalarKernel.Run(inputs, Inputs, outputs, Outputs, _coefficients, start, end);
                }

                return;
            case ReedSolomonKernel.Avx512:
                if (length >= 64)
                {
                    RunVector<NibbleKernels.V512>(inputs, outputs, start, end, 8, descending);
                    return;
                }

                goto case ReedSolomonKernel.Avx2;
            case ReedSolomonKernel.Avx2:
                if (length >= 32)
                {
                    RunVector<NibbleKernels.V256>(inputs, outputs, start, end, KernelSelector.HasThirtyTwoVectorRegisters ? 8 : 6, descending);
                    return;
                }

                goto case ReedSolomonKernel.Vector128;
            case ReedSolomonKernel.Vector128:
                if (length >= 16)
                {
                    RunVector<NibbleKernels.V128>(inputs, outputs, start, end, KernelSelector.HasThirtyTwoVectorRegisters ? 8 : 6, descending);
                    return;
                }

                goto default;
            default:
                ScalarKernel.Run(inputs, Inputs, outputs, Outputs, _coefficients, start, end);
                return;
        }
    }

    // Precondition: end - start >= TK.Width.
    private void RunVector<TK>(byte** inputs, byte** outputs, nint start, nint end, int maxGroup, bool descending)
        where TK : struct, IVectorKernel
    {
        nint stride = (nint)Outputs * TK.EntryBytes;
        if (Outputs <= maxGroup)
        {
            RunGroup<TK>(inputs, outputs, _tables, stride, Outputs, start, end, descending);
            return;
        }

        // More outputs than registers: walk the columns in blocks that stay in cache and run every output group
        // over a block before moving on, so the inputs come from memory once.
        for (nint b = start; b < end; b += _blockBytes)
        {
            nint blockEnd = b + _blockBytes < end ? b + _blockBytes : end;
            nint blockStart = blockEnd - b >= TK.Width ? b : blockEnd - TK.Width; // recomputing a few bytes is harmless
            for (int g = 0; g < Outputs; g += maxGroup)
            {
                int n = Math.Min(maxGroup, Outputs - g);
                RunGroup<TK>(inputs, outputs + g, _tables + g * TK.EntryBytes, stride, n, blockStart, blockEnd, descending);
            }
        }
    }

    private void RunGroup<TK>(byte** inputs, byte** outputs, byte* tables, nint stride, int n, nint start, nint end, bool descending)
        where TK : struct, IVectorKernel
    {
        if (descending)
        {
            switch (n)
            {
                case 1: RunSpanDescending<TK, N1>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 2: RunSpanDescending<TK, N2>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 3: RunSpanDescending<TK, N3>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 4: RunSpanDescending<TK, N4>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 5: RunSpanDescending<TK, N5>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 6: RunSpanDescending<TK, N6>(inputs, Inputs, outputs, tables, stride, start, end); break;
                case 7: RunSpanDescending<TK, N7>(inputs, Inputs, outputs, tables, stride, start, end); break;
                default: RunSpanDescending<TK, N8>(inputs, Inputs, outputs, tables, stride, start, end); break;
            }

            return;
        }

        switch (n)
        {
            case 1: RunSpan<TK, N1>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 2: RunSpan<TK, N2>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 3: RunSpan<TK, N3>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 4: RunSpan<TK, N4>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 5: RunSpan<TK, N5>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 6: RunSpan<TK, N6>(inputs, Inputs, outputs, tables, stride, start, end); break;
            case 7: RunSpan<TK, N7>(inputs, Inputs, outputs, tables, stride, start, end); break;
            default: RunSpan<TK, N8>(inputs, Inputs, outputs, tables, stride, start, end); break;
        }
    }

    private static void RunSpan<TK, TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint start, nint end)
        where TK : struct, IVectorKernel
        where TN : struct, IOutputCount
    {
        nint w = TK.Width;
        nint i = start;
        for (; i + 2 * w <= end; i += 2 * w)
        {
            TK.Block2<TN>(inputs, inCount, outputs, tables, stride, i);
        }

        if (i + w <= end)
        {
            TK.Block<TN>(inputs, inCount, outputs, tables, stride, i);
            i += w;
        }

        if (i < end)
        {
            // The last partial vector overlaps the previous one: outputs are recomputed, not accumulated, so
            // writing the same bytes twice gives the same result and no scalar tail is needed.
            TK.Block<TN>(inputs, inCount, outputs, tables, stride, end - w);
        }
    }

    private static void RunSpanDescending<TK, TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint start, nint end)
        where TK : struct, IVectorKernel
        where TN : struct, IOutputCount
    {
        nint w = TK.Width;
        nint i = end;
        for (; i - 2 * w >= start; i -= 2 * w)
        {
            TK.Block2<TN>(inputs, inCount, outputs, tables, stride, i - 2 * w);
        }

        if (i - w >= start)
        {
            i -= w;
            TK.Block<TN>(inputs, inCount, outputs, tables, stride, i);
        }

        if (i > start)
        {
            TK.Block<TN>(inputs, inCount, outputs, tables, stride, start);
        }
    }

    /// <summary>
    /// Whether to walk the columns from the end. A load whose address matches a store still in flight in its low
    /// 12 bits waits for it (4K aliasing). Walking upwards, stores at offset i meet loads a few hundred bytes
    /// ahead, which collide when an output sits just above an input modulo 4 KiB — the usual case for separately
    /// allocated shards, parity after data. Walking downwards moves the collision to outputs just below inputs.
    /// Pick the direction with fewer colliding (input, output) pairs; identical results either way.
    /// </summary>
    internal static bool PreferDescending(byte** inputs, int inCount, byte** outputs, int outCount)
    {
        const int Near = 64, Far = 640;
        int up = 0, down = 0;
        for (int r = 0; r < outCount; r++)
        {
            for (int c = 0; c < inCount; c++)
            {
                int distance = (int)(((nint)outputs[r] - (nint)inputs[c]) & 4095);
                if (distance is >= Near and <= Far)
                {
                    up++;
                }
                else if (4096 - distance is >= Near and <= Far)
                {
                    down++;
                }
            }
        }

        return down < up;
    }
}
