using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// outputs = coefficients × inputs for one fixed coefficient matrix (the parity rows for Encode, or a decode
/// matrix for one erasure pattern), with the kernel's lookup tables expanded once at construction so the hot path
/// allocates nothing. Immutable, so one plan is shared by every thread.
/// </summary>
internal sealed unsafe class CodingPlan
{
    // Inputs of one column block (all inputs × block bytes) should stay in L2 while every output group reads them.
    private const int BlockBudgetBytes = 256 * 1024;

    // Longest range (bytes per shard) for which the 4K-aliasing heuristic may choose the downward walk.
    private const int DescendingMaxBytes = 128 * 1024;

    // A call whose inputs and outputs together span at least this many bytes streams from L3 or DRAM whatever the
    // kernel does (it is more than any L2 and most of an L3); its outputs then bypass the caches.
    private const long StreamingBytes = 8L << 20;

    private readonly byte[] _coefficients;
    private readonly byte[]? _tableStorage; // pinned (POH); _tables points into it, 64-byte aligned
    private readonly byte* _tables;
    private readonly int[] _groupStarts; // output groups: group g is outputs [_groupStarts[g], _groupStarts[g + 1])
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

        // Outputs are split into groups of at most one kernel call's accumulators, as even as possible (9 = 5 + 4).
        int maxGroup = KernelSelector.HasThirtyTwoVectorRegisters ? KernelDispatch.MaxOutputs : 6;
        int groups = (Outputs + maxGroup - 1) / maxGroup;
        _groupStarts = new int[groups + 1];
        for (int g = 0; g <= groups; g++)
        {
            _groupStarts[g] = g * Outputs / groups;
        }

        int entry = kernel switch
        {
            ReedSolomonKernel.Gfni512 or ReedSolomonKernel.Gfni256 => GfniKernels.V512.EntryBytes,
            ReedSolomonKernel.Avx512 or ReedSolomonKernel.Avx2 or ReedSolomonKernel.Vector128 => NibbleKernels.V512.EntryBytes,
            _ => 0,
        };
        if (entry == 0)
        {
            return;
        }

        // Each group's entries are one input-major block (see IKernel): input c, output r of the group at (c * n + r).
        _tableStorage = GC.AllocateArray<byte>(Inputs * Outputs * entry + 63, pinned: true);
        byte* baseAddress = (byte*)Unsafe.AsPointer(ref _tableStorage[0]);
        _tables = (byte*)(((nint)baseAddress + 63) & ~(nint)63);
        for (int g = 0; g < groups; g++)
        {
            int first = _groupStarts[g], n = _groupStarts[g + 1] - first;
            for (int c = 0; c < Inputs; c++)
            {
                for (int r = 0; r < n; r++)
                {
                    byte coefficient = _coefficients[(first + r) * Inputs + c];
                    var e = new Span<byte>(_tables + ((nint)Inputs * first + c * n + r) * entry, entry);
                    if (entry == GfniKernels.V512.EntryBytes)
                    {
                        // The 8-byte matrix, repeated to 32 bytes (see GfniKernels).
                        ulong affine = GaloisField.AffineMatrix(coefficient);
                        for (int q = 0; q < entry; q += 8)
                        {
                            Unsafe.WriteUnaligned(ref e[q], affine);
                        }
                    }
                    else
                    {
                        // lo[x & 15] and hi[x >> 4], each repeated to 64 bytes (every 128-bit lane of a zmm load).
                        for (int x = 0; x < 64; x++)
                        {
                            e[x] = GaloisField.Mul(coefficient, (byte)(x & 15));
                            e[64 + x] = GaloisField.Mul(coefficient, (byte)((x & 15) << 4));
                        }
                    }
                }
            }
        }
    }

    public int Inputs { get; }

    public int Outputs { get; }

    public ReedSolomonKernel Kernel { get; }

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
        // Long ones store non-temporally when their outputs allow aligned stores: no read for ownership and no
        // write-back of outputs that would leave the cache before anyone reads them, and the inputs keep the L3.
        KernelWalk walk = length <= DescendingMaxBytes
            ? PreferDescending(inputs, Inputs, outputs, Outputs) ? KernelWalk.Down : KernelWalk.Up
            : Streams(outputs, start, length) ? KernelWalk.UpStreaming : KernelWalk.Up;

        switch (Kernel)
        {
            case ReedSolomonKernel.Gfni512:
                if (length >= GfniKernels.V512.Step)
                {
                    RunVector<GfniKernels.V512>(inputs, outputs, start, end, walk);
                    return;
                }

                goto case ReedSolomonKernel.Gfni256;
            case ReedSolomonKernel.Gfni256:
                if (length >= GfniKernels.V256.Step)
                {
                    RunVector<GfniKernels.V256>(inputs, outputs, start, end, walk);
                }
                else if (length >= GfniKernels.V128.Step)
                {
                    RunVector<GfniKernels.V128>(inputs, outputs, start, end, walk);
                }
                else
                {
                    ScalarKernel.Run(inputs, Inputs, outputs, Outputs, _coefficients, start, end);
                }

                return;
            case ReedSolomonKernel.Avx512:
                if (length >= NibbleKernels.V512.Step)
                {
                    RunVector<NibbleKernels.V512>(inputs, outputs, start, end, walk);
                    return;
                }

                goto case ReedSolomonKernel.Avx2;
            case ReedSolomonKernel.Avx2:
                if (length >= NibbleKernels.V256.Step)
                {
                    RunVector<NibbleKernels.V256>(inputs, outputs, start, end, walk);
                    return;
                }

                goto case ReedSolomonKernel.Vector128;
            case ReedSolomonKernel.Vector128:
                if (length >= NibbleKernels.V128.Step)
                {
                    RunVector<NibbleKernels.V128>(inputs, outputs, start, end, walk);
                    return;
                }

                goto default;
            default:
                ScalarKernel.Run(inputs, Inputs, outputs, Outputs, _coefficients, start, end);
                return;
        }
    }

    // Precondition: end - start >= TK.Step.
    private void RunVector<TK>(byte** inputs, byte** outputs, nint start, nint end, KernelWalk walk)
        where TK : struct, IKernel
    {
        int groups = _groupStarts.Length - 1;
        if (groups == 1)
        {
            Call<TK>(Outputs, inputs, outputs, _tables, start, end, walk);
        }
        else
        {
            // More outputs than one call holds: walk the columns in blocks that stay in cache and run every output
            // group over a block before moving on, so the inputs come from memory once.
            for (nint b = start; b < end; b += _blockBytes)
            {
                nint blockEnd = b + _blockBytes < end ? b + _blockBytes : end;
                nint blockStart = blockEnd - b >= TK.Step ? b : blockEnd - TK.Step; // recomputing a few bytes is harmless
                for (int g = 0; g < groups; g++)
                {
                    int first = _groupStarts[g];
                    Call<TK>(_groupStarts[g + 1] - first, inputs, outputs + first, _tables + (nint)Inputs * first * TK.EntryBytes,
                        blockStart, blockEnd, walk);
                }
            }
        }

        if (walk == KernelWalk.UpStreaming)
        {
            Sse.StoreFence(); // non-temporal stores are weakly ordered: visible before the call returns
        }
    }

    private void Call<TK>(int outCount, byte** inputs, byte** outputs, byte* tables, nint start, nint end, KernelWalk walk)
        where TK : struct, IKernel
    {
        if (walk != KernelWalk.UpStreaming || (start & 63) != 0) // a short last block may start unaligned
        {
            KernelDispatch.Run<TK>(Inputs, outCount, inputs, outputs, tables, start, end, walk == KernelWalk.Down ? walk : KernelWalk.Up);
            return;
        }

        // Aligned whole steps stream; a remainder ends with one plain, overlapping step.
        nint streamed = (end - start) / TK.Step * TK.Step;
        KernelDispatch.Run<TK>(Inputs, outCount, inputs, outputs, tables, start, start + streamed, KernelWalk.UpStreaming);
        if (start + streamed < end)
        {
            KernelDispatch.Run<TK>(Inputs, outCount, inputs, outputs, tables, end - TK.Step, end, KernelWalk.Up);
        }
    }

    private bool Streams(byte** outputs, nint start, nint length)
    {
        if (!Sse2.IsSupported || (long)(Inputs + Outputs) * length < StreamingBytes || (start & 63) != 0)
        {
            return false;
        }

        for (int r = 0; r < Outputs; r++)
        {
            if (((nint)outputs[r] & 63) != 0)
            {
                return false;
            }
        }

        return true;
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
