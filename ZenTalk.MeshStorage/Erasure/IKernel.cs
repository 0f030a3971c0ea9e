namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// One SIMD kernel (a family and a vector width): outputs[r][start .. end) = Σ c[r, i] · inputs[i][start .. end) over
/// GF(2^8), all outputs of a call computed from one pass over the inputs, with the accumulators in registers. The
/// bodies are generated (eng/generate-erasure-kernels.cs); <see cref="KernelDispatch"/> picks the instantiation.
/// </summary>
/// <remarks>
/// Tables hold one <see cref="EntryBytes"/> entry per (input, output) pair of the call, input-major: the entry of
/// input c for output r is at <c>tables + (c * outputs + r) * EntryBytes</c>. A range must hold at least
/// <see cref="Step"/> bytes; the last step overlaps the one before it, so outputs must not alias inputs.
/// </remarks>
internal unsafe interface IKernel
{
    /// <summary>Bytes per vector.</summary>
    static abstract int Width { get; }

    /// <summary>Bytes per loop step (one or two vectors per output), the shortest range the kernel takes.</summary>
    static abstract int Step { get; }

    /// <summary>Table bytes per (input, output) pair: 8 for an affine matrix, 128 for two nibble tables.</summary>
    static abstract int EntryBytes { get; }

    /// <summary>Whether this CPU runs the kernel.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>TI inputs (1 to <see cref="KernelDispatch.MaxUnrolledInputs"/>), unrolled, into TN outputs.</summary>
    static abstract void Run<TI, TN>(byte** inputs, byte** outputs, byte* tables, nint start, nint end, KernelWalk walk)
        where TI : struct, ICount
        where TN : struct, ICount;

    /// <summary>Any number of inputs, taken in pairs by a loop, into TN outputs.</summary>
    static abstract void RunWide<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint start, nint end, KernelWalk walk)
        where TN : struct, ICount;
}

/// <summary>How a kernel walks its columns.</summary>
internal enum KernelWalk
{
    /// <summary>Upwards, plain stores.</summary>
    Up,

    /// <summary>Downwards, plain stores (against 4K aliasing, see <see cref="CodingPlan.PreferDescending"/>).</summary>
    Down,

    /// <summary>
    /// Upwards with non-temporal stores (x86 kernels; the 128-bit nibble kernel stores plainly). The caller makes
    /// every output pointer plus start 64-byte aligned, makes end - start a multiple of Step, and fences afterwards.
    /// </summary>
    UpStreaming,
}
