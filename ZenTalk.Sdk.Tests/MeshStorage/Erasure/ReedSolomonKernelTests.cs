using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

/// <summary>Every SIMD kernel the CPU supports must produce exactly the scalar kernel's bytes.</summary>
public class ReedSolomonKernelTests
{
    // Names, not the internal enum, so the test methods can stay public.
    private static readonly string[] Kernels = ["Gfni512", "Gfni256", "Avx512", "Avx2", "Vector128"];

    private static readonly int[] Lengths = [1, 15, 16, 31, 63, 64, 65, 127, 129, 4095, (1 << 20) + 7];

    private static ReedSolomon Forced(string name, int k, int m, ReedSolomonMatrix matrix = ReedSolomonMatrix.Vandermonde)
    {
        ReedSolomonKernel kernel = Enum.Parse<ReedSolomonKernel>(name);
        if (!KernelSelector.IsSupported(kernel))
        {
            Assert.Ignore($"This CPU cannot run the {kernel} kernel.");
        }

        var rs = new ReedSolomon(k, m, new ReedSolomonOptions { Kernel = kernel, Matrix = matrix });
        Assert.That(rs.Kernel, Is.EqualTo(kernel));
        return rs;
    }

    [Test]
    public void Encode_equals_scalar([ValueSource(nameof(Kernels))] string kernel, [ValueSource(nameof(Lengths))] int length)
    {
        ReedSolomon fast = Forced(kernel, 10, 5);
        var scalar = new ReedSolomon(10, 5, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar });
        byte[][] a = ShardSet.Random(15, length, length);
        byte[][] b = ShardSet.Clone(a);
        fast.Encode(ShardSet.AsMemory(a));
        scalar.Encode(ShardSet.AsMemory(b));
        for (int i = 10; i < 15; i++)
        {
            Assert.That(a[i].AsSpan().SequenceEqual(b[i]), Is.True, $"{kernel} parity {i} at length {length}");
        }

        Assert.That(fast.Verify(ShardSet.AsMemory(b)), Is.True);
    }

    [Test]
    public void Reconstruct_equals_scalar([ValueSource(nameof(Kernels))] string kernel, [ValueSource(nameof(Lengths))] int length)
    {
        ReedSolomon fast = Forced(kernel, 10, 5);
        byte[][] original = ShardSet.Random(15, length, length + 1);
        new ReedSolomon(10, 5, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar }).Encode(ShardSet.AsMemory(original));
        byte[][] work = ShardSet.Clone(original);
        bool[] present = [true, false, true, false, true, false, true, true, false, true, true, false, true, true, true];
        for (int i = 0; i < 15; i++)
        {
            if (!present[i])
            {
                Array.Fill(work[i], (byte)0xA5);
            }
        }

        fast.Reconstruct(ShardSet.AsMemory(work), present);
        for (int i = 0; i < 15; i++)
        {
            Assert.That(work[i].AsSpan().SequenceEqual(original[i]), Is.True, $"{kernel} shard {i} at length {length}");
        }
    }

    // More outputs than one register group holds (8): exercises output groups and column blocking.
    [Test]
    public void Wide_codes_equal_scalar([ValueSource(nameof(Kernels))] string kernel, [Values(4095, 70_001)] int length)
    {
        foreach ((int k, int m) in new[] { (12, 20), (200, 50), (3, 9) })
        {
            ReedSolomon fast = Forced(kernel, k, m, ReedSolomonMatrix.Cauchy);
            var scalar = new ReedSolomon(k, m, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar, Matrix = ReedSolomonMatrix.Cauchy });
            byte[][] a = ShardSet.Random(k + m, length, k + m);
            byte[][] b = ShardSet.Clone(a);
            fast.Encode(ShardSet.AsMemory(a));
            scalar.Encode(ShardSet.AsMemory(b));
            for (int i = k; i < k + m; i++)
            {
                Assert.That(a[i].AsSpan().SequenceEqual(b[i]), Is.True, $"{kernel} {k}+{m} parity {i}");
            }
        }
    }

    [Test]
    public void Unaligned_shards_inside_one_buffer_encode_like_scalar([ValueSource(nameof(Kernels))] string kernel)
    {
        ReedSolomon fast = Forced(kernel, 10, 5);
        var scalar = new ReedSolomon(10, 5, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar });
        const int length = 1001;
        var buffer = new byte[15 * length + 3];
        new Random(9).NextBytes(buffer);
        Memory<byte>[] a = Enumerable.Range(0, 15).Select(i => new Memory<byte>(buffer, 3 + i * length, length)).ToArray();
        byte[][] b = a.Select(s => s.ToArray()).ToArray();
        fast.Encode(a);
        scalar.Encode(ShardSet.AsMemory(b));
        for (int i = 10; i < 15; i++)
        {
            Assert.That(a[i].Span.SequenceEqual(b[i]), Is.True, $"parity {i}");
        }
    }

    // Calls spanning 8 MiB or more with 64-byte-aligned outputs store non-temporally (CodingPlan.Streams): shards cut
    // from one aligned buffer, with lengths that leave a plain tail step, for 10 + 5 and for a wide code walked in
    // column blocks by output group.
    [Test]
    public void Streaming_calls_on_aligned_shards_equal_scalar([ValueSource(nameof(Kernels))] string kernel)
    {
        foreach ((int k, int m, int length) in new[] { (10, 5, (1 << 20) + 100), (20, 12, 300_001) })
        {
            ReedSolomon fast = Forced(kernel, k, m, ReedSolomonMatrix.Cauchy);
            var scalar = new ReedSolomon(k, m, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar, Matrix = ReedSolomonMatrix.Cauchy });
            int stride = (length + 63) & ~63;
            byte[] buffer = GC.AllocateArray<byte>((k + m) * stride + 64, pinned: true);
            new Random(k + m).NextBytes(buffer);
            int offset = AlignmentOffset(buffer);
            Memory<byte>[] a = [.. Enumerable.Range(0, k + m).Select(i => new Memory<byte>(buffer, offset + i * stride, length))];
            byte[][] b = [.. a.Select(s => s.ToArray())];
            fast.Encode(a);
            scalar.Encode(ShardSet.AsMemory(b));
            for (int i = k; i < k + m; i++)
            {
                Assert.That(a[i].Span.SequenceEqual(b[i]), Is.True, $"{kernel} {k}+{m} parity {i}");
            }

            bool[] present = [.. Enumerable.Range(0, k + m).Select(i => i >= m)];
            for (int i = 0; i < m; i++)
            {
                a[i].Span.Fill(0xA5);
            }

            fast.Reconstruct(a, present);
            for (int i = 0; i < m; i++)
            {
                Assert.That(a[i].Span.SequenceEqual(b[i]), Is.True, $"{kernel} {k}+{m} rebuilt shard {i}");
            }
        }
    }

    private static unsafe int AlignmentOffset(byte[] pinned)
    {
        fixed (byte* p = pinned)
        {
            return (int)((64 - ((nint)p & 63)) & 63);
        }
    }

    // Parity 128 bytes above data modulo 4 KiB makes the codec walk columns downwards (see CodingPlan.PreferDescending).
    [Test]
    public unsafe void Shards_laid_out_to_alias_4K_are_walked_downwards_with_the_same_result([ValueSource(nameof(Kernels))] string kernel)
    {
        ReedSolomon fast = Forced(kernel, 10, 5);
        var scalar = new ReedSolomon(10, 5, new ReedSolomonOptions { Kernel = ReedSolomonKernel.Scalar });
        const int length = 8192 + 77, spacing = 8192 + 128 + 4096;
        var buffer = new byte[15 * spacing];
        new Random(10).NextBytes(buffer);
        Memory<byte>[] a = Enumerable.Range(0, 15).Select(i => new Memory<byte>(buffer, i * spacing, length)).ToArray();
        fixed (byte* p = buffer)
        {
            byte** ins = stackalloc byte*[10];
            byte** outs = stackalloc byte*[5];
            for (int i = 0; i < 10; i++)
            {
                ins[i] = p + i * spacing;
            }

            for (int i = 0; i < 5; i++)
            {
                outs[i] = p + (10 + i) * spacing;
            }

            Assert.That(CodingPlan.PreferDescending(ins, 10, outs, 5), Is.True);
            Assert.That(CodingPlan.PreferDescending(outs, 5, ins, 10), Is.False);
        }

        byte[][] b = a.Select(s => s.ToArray()).ToArray();
        fast.Encode(a);
        scalar.Encode(ShardSet.AsMemory(b));
        for (int i = 10; i < 15; i++)
        {
            Assert.That(a[i].Span.SequenceEqual(b[i]), Is.True, $"parity {i}");
        }

        bool[] present = [.. Enumerable.Range(0, 15).Select(i => i % 3 != 0)];
        foreach (int i in Enumerable.Range(0, 15).Where(i => !present[i]))
        {
            a[i].Span.Clear();
        }

        fast.Reconstruct(a, present);
        for (int i = 0; i < 15; i++)
        {
            Assert.That(a[i].Span.SequenceEqual(b[i]), Is.True, $"shard {i}");
        }
    }
}
