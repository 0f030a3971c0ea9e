namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// One SIMD inner loop. <c>Block</c> computes <c>outputs[r][i .. i + Width)</c> for the TN outputs of a group from
/// every input at once, the accumulators living in registers so each input byte is loaded once per group.
/// Tables hold one <see cref="EntryBytes"/> entry per (input, output) pair: input c's entries start at
/// <c>tables + c * stride</c>, one after another for the group's outputs.
/// </summary>
internal unsafe interface IVectorKernel
{
    static abstract int Width { get; }

    static abstract int EntryBytes { get; }

    static abstract bool IsSupported { get; }

    static abstract void Block<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
        where TN : struct, IOutputCount;

    /// <summary>Two adjacent blocks, i and i + Width, interleaved for more independent work per input load.</summary>
    static abstract void Block2<TN>(byte** inputs, int inCount, byte** outputs, byte* tables, nint stride, nint i)
        where TN : struct, IOutputCount;
}
