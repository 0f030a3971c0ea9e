namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// The portable kernel and the reference the SIMD kernels are tested against: for each output, one pass per input
/// through that coefficient's 256-byte row of the product table.
/// </summary>
internal static unsafe class ScalarKernel
{
    /// <param name="inputs">Input shard pointers.</param>
    /// <param name="inCount">Number of inputs.</param>
    /// <param name="outputs">Output shard pointers.</param>
    /// <param name="outCount">Number of outputs.</param>
    /// <param name="coefficients">Row-major [output, input] coefficients.</param>
    /// <param name="start">First byte offset to compute.</param>
    /// <param name="end">One past the last byte offset to compute.</param>
    public static void Run(byte** inputs, int inCount, byte** outputs, int outCount, ReadOnlySpan<byte> coefficients, nint start, nint end)
    {
        fixed (byte* mulTable = GaloisField.MulTable)
        {
            for (int r = 0; r < outCount; r++)
            {
                byte* dst = outputs[r];
                byte* row = mulTable + (coefficients[r * inCount] << 8);
                byte* src = inputs[0];
                for (nint i = start; i < end; i++)
                {
                    dst[i] = row[src[i]];
                }

                for (int c = 1; c < inCount; c++)
                {
                    row = mulTable + (coefficients[r * inCount + c] << 8);
                    src = inputs[c];
                    nint i = start;
                    for (; i + 4 <= end; i += 4)
                    {
                        dst[i] ^= row[src[i]];
                        dst[i + 1] ^= row[src[i + 1]];
                        dst[i + 2] ^= row[src[i + 2]];
                        dst[i + 3] ^= row[src[i + 3]];
                    }

                    for (; i < end; i++)
                    {
                        dst[i] ^= row[src[i]];
                    }
                }
            }
        }
    }
}
