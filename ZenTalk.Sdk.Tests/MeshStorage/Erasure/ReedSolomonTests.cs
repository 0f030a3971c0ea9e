using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

public class ReedSolomonTests
{
    [Test]
    public void Parity_matches_Backblaze_JavaReedSolomon_test_vector()
    {
        // ReedSolomonTest.testOneEncode: 5 data + 5 parity, 2-byte shards.
        byte[][] shards =
        [
            [0, 1], [4, 5], [2, 3], [6, 7], [8, 9],
            new byte[2], new byte[2], new byte[2], new byte[2], new byte[2],
        ];
        var rs = new ReedSolomon(5, 5);
        rs.Encode(ShardSet.AsMemory(shards));

        Assert.That(shards[5], Is.EqualTo(new byte[] { 12, 13 }));
        Assert.That(shards[6], Is.EqualTo(new byte[] { 10, 11 }));
        Assert.That(shards[7], Is.EqualTo(new byte[] { 14, 15 }));
        Assert.That(shards[8], Is.EqualTo(new byte[] { 90, 91 }));
        Assert.That(shards[9], Is.EqualTo(new byte[] { 94, 95 }));
        Assert.That(rs.Verify(ShardSet.AsMemory(shards)), Is.True);
    }

    [Test]
    public void Encoding_matrix_is_systematic()
    {
        foreach (ReedSolomonMatrix kind in new[] { ReedSolomonMatrix.Vandermonde, ReedSolomonMatrix.Cauchy })
        {
            var rs = new ReedSolomon(10, 5, new ReedSolomonOptions { Matrix = kind });
            for (int r = 0; r < 10; r++)
            {
                for (int c = 0; c < 10; c++)
                {
                    Assert.That(rs.MatrixCoefficient(r, c), Is.EqualTo(r == c ? 1 : 0), $"{kind} [{r},{c}]");
                }
            }
        }
    }

    private static IEnumerable<TestCaseData> Geometries()
    {
        for (int k = 1; k <= 20; k++)
        {
            for (int m = 1; m <= 10; m++)
            {
                yield return new TestCaseData(k, m).SetArgDisplayNames($"{k}+{m}");
            }
        }

        yield return new TestCaseData(10, 5).SetArgDisplayNames("10+5");
        yield return new TestCaseData(17, 3).SetArgDisplayNames("17+3");
        yield return new TestCaseData(200, 50).SetArgDisplayNames("200+50");
    }

    [TestCaseSource(nameof(Geometries))]
    public void Round_trip_survives_losing_any_m_shards(int k, int m)
    {
        var random = new Random(k * 1000 + m);
        int length = 1 + random.Next(200);
        byte[][] original = ShardSet.Random(k + m, length, k * 31 + m);
        var rs = new ReedSolomon(k, m);
        rs.Encode(ShardSet.AsMemory(original));
        Assert.That(rs.Verify(ShardSet.AsMemory(original)), Is.True);

        for (int trial = 0; trial < 3; trial++)
        {
            int lose = trial == 0 ? m : 1 + random.Next(m);
            bool[] present = Enumerable.Repeat(true, k + m).ToArray();
            foreach (int i in Enumerable.Range(0, k + m).OrderBy(_ => random.Next()).Take(lose))
            {
                present[i] = false;
            }

            byte[][] damaged = ShardSet.Clone(original);
            for (int i = 0; i < k + m; i++)
            {
                if (!present[i])
                {
                    random.NextBytes(damaged[i]); // garbage must be overwritten, not trusted
                }
            }

            rs.Reconstruct(ShardSet.AsMemory(damaged), present);
            for (int i = 0; i < k + m; i++)
            {
                Assert.That(damaged[i], Is.EqualTo(original[i]), $"shard {i} after losing {lose}");
            }
        }

        byte[] payload = new byte[Math.Max(1, k * length - random.Next(length))];
        random.NextBytes(payload);
        Memory<byte>[] split = rs.Split(payload);
        rs.Encode(split);
        var joined = new byte[payload.Length];
        rs.Join(split, joined);
        Assert.That(joined, Is.EqualTo(payload));
    }

    [Test]
    public void Every_pattern_of_five_lost_shards_of_10_plus_5_is_rebuilt()
    {
        const int k = 10, m = 5, length = 77;
        byte[][] original = ShardSet.Random(k + m, length, 3003);
        var rs = new ReedSolomon(k, m);
        rs.Encode(ShardSet.AsMemory(original));
        byte[][] work = ShardSet.Clone(original);
        Memory<byte>[] memory = ShardSet.AsMemory(work);
        var present = new bool[k + m];
        int patterns = 0;

        for (int mask = 0; mask < 1 << (k + m); mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) != m)
            {
                continue;
            }

            patterns++;
            for (int i = 0; i < k + m; i++)
            {
                present[i] = (mask & (1 << i)) == 0;
                if (!present[i])
                {
                    Array.Clear(work[i]);
                }
            }

            rs.Reconstruct(memory, present);
            for (int i = 0; i < k + m; i++)
            {
                if (!work[i].AsSpan().SequenceEqual(original[i]))
                {
                    Assert.Fail($"pattern {mask:X4}: shard {i} rebuilt wrong");
                }
            }
        }

        Assert.That(patterns, Is.EqualTo(3003));
    }

    [Test]
    public void ReconstructData_rebuilds_data_and_leaves_missing_parity_alone()
    {
        byte[][] original = ShardSet.Random(15, 300, 7);
        var rs = new ReedSolomon(10, 5);
        rs.Encode(ShardSet.AsMemory(original));
        byte[][] work = ShardSet.Clone(original);
        bool[] present = Enumerable.Repeat(true, 15).ToArray();
        foreach (int i in new[] { 0, 4, 9, 11, 14 })
        {
            present[i] = false;
            Array.Clear(work[i]);
        }

        work[14] = []; // a missing parity shard may come without a buffer
        rs.ReconstructData(ShardSet.AsMemory(work), present);

        for (int i = 0; i < 10; i++)
        {
            Assert.That(work[i], Is.EqualTo(original[i]), $"data shard {i}");
        }

        Assert.That(work[11], Is.All.EqualTo(0), "missing parity is not written by ReconstructData");
        Assert.That(work[14], Is.Empty);
    }

    [Test]
    public void Verify_detects_a_single_flipped_bit_in_any_shard()
    {
        foreach (int length in new[] { 1, 100, 70_000 })
        {
            byte[][] shards = ShardSet.Random(15, length, length);
            var rs = new ReedSolomon(10, 5);
            rs.Encode(ShardSet.AsMemory(shards));
            var random = new Random(length);
            for (int shard = 0; shard < 15; shard++)
            {
                int position = random.Next(length);
                byte bit = (byte)(1 << random.Next(8));
                shards[shard][position] ^= bit;
                Assert.That(rs.Verify(ShardSet.AsMemory(shards)), Is.False, $"flip in shard {shard} at {position} of {length}");
                shards[shard][position] ^= bit;
                Assert.That(rs.Verify(ShardSet.AsMemory(shards)), Is.True);
            }
        }
    }

    [Test]
    public void Cauchy_parity_matches_ISA_L_gf_gen_cauchy1_matrix()
    {
        if (!IsaL.IsAvailable)
        {
            Assert.Ignore("libisal.so.2 is not installed (apt-get install libisal2).");
        }

        const int k = 10, m = 5, length = 1000;
        byte[][] shards = ShardSet.Random(k + m, length, 11);
        new ReedSolomon(k, m, new ReedSolomonOptions { Matrix = ReedSolomonMatrix.Cauchy }).Encode(ShardSet.AsMemory(shards));

        var matrix = new byte[(k + m) * k];
        unsafe
        {
            fixed (byte* a = matrix)
            {
                IsaL.GenerateCauchyMatrix(a, k + m, k);
            }
        }

        byte[][] isalParity = ShardSet.Random(m, length, 12);
        IsaL.Apply(matrix[(k * k)..], shards[..k], isalParity);
        for (int r = 0; r < m; r++)
        {
            Assert.That(shards[k + r], Is.EqualTo(isalParity[r]), $"parity {r}");
        }
    }

    [Test]
    public void Vandermonde_parity_matches_ISA_L_applying_the_same_matrix()
    {
        if (!IsaL.IsAvailable)
        {
            Assert.Ignore("libisal.so.2 is not installed (apt-get install libisal2).");
        }

        const int k = 17, m = 3, length = 4099;
        byte[][] shards = ShardSet.Random(k + m, length, 13);
        var rs = new ReedSolomon(k, m);
        rs.Encode(ShardSet.AsMemory(shards));
        var coefficients = new byte[m * k];
        for (int r = 0; r < m; r++)
        {
            for (int c = 0; c < k; c++)
            {
                coefficients[r * k + c] = rs.MatrixCoefficient(k + r, c);
            }
        }

        byte[][] isalParity = ShardSet.Random(m, length, 14);
        IsaL.Apply(coefficients, shards[..k], isalParity);
        for (int r = 0; r < m; r++)
        {
            Assert.That(shards[k + r], Is.EqualTo(isalParity[r]), $"parity {r}");
        }
    }

    [Test]
    public void Split_without_copy_slices_the_callers_buffer_and_zeroes_padding()
    {
        var rs = new ReedSolomon(4, 2);
        int size = rs.GetShardSize(10);
        Assert.That(size, Is.EqualTo(3));
        byte[] buffer = Enumerable.Repeat((byte)0xEE, size * 6).ToArray();
        for (int i = 0; i < 10; i++)
        {
            buffer[i] = (byte)(i + 1);
        }

        Memory<byte>[] shards = rs.Split(buffer, 10);
        Assert.That(shards, Has.Length.EqualTo(6));
        Assert.That(buffer[10..12], Is.All.EqualTo(0));
        rs.Encode(shards);
        Assert.That(buffer[12..], Is.EqualTo(shards[4].ToArray().Concat(shards[5].ToArray())), "parity lands in the same buffer");
        var joined = new byte[10];
        rs.Join(shards, joined);
        Assert.That(joined, Is.EqualTo(buffer[..10]));
    }

    [Test]
    public void Parallel_encode_over_byte_ranges_equals_single_threaded()
    {
        const int length = (1 << 20) + 7;
        byte[][] a = ShardSet.Random(15, length, 21);
        byte[][] b = ShardSet.Clone(a);
        new ReedSolomon(10, 5).Encode(ShardSet.AsMemory(a));
        var parallel = new ReedSolomon(10, 5, new ReedSolomonOptions { MaxDegreeOfParallelism = 4, MinBytesPerThread = 4096 });
        parallel.Encode(ShardSet.AsMemory(b));
        for (int i = 10; i < 15; i++)
        {
            Assert.That(b[i].AsSpan().SequenceEqual(a[i]), Is.True, $"parity {i}");
        }

        bool[] present = [false, true, false, true, true, true, true, false, true, true, true, false, true, true, false];
        byte[][] c = ShardSet.Clone(a);
        foreach (int i in new[] { 0, 2, 7, 11, 14 })
        {
            Array.Clear(c[i]);
        }

        parallel.Reconstruct(ShardSet.AsMemory(c), present);
        for (int i = 0; i < 15; i++)
        {
            Assert.That(c[i].AsSpan().SequenceEqual(a[i]), Is.True, $"shard {i}");
        }
    }

    [Test]
    public void One_instance_encodes_and_reconstructs_from_many_threads_at_once()
    {
        var rs = new ReedSolomon(10, 5);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var random = new Random(t);
            byte[][] original = ShardSet.Random(15, 1000 + t, t);
            rs.Encode(ShardSet.AsMemory(original));
            byte[][] work = ShardSet.Clone(original);
            var present = Enumerable.Repeat(true, 15).ToArray();
            foreach (int i in Enumerable.Range(0, 15).OrderBy(_ => random.Next()).Take(5))
            {
                present[i] = false;
                Array.Clear(work[i]);
            }

            rs.Reconstruct(ShardSet.AsMemory(work), present);
            for (int i = 0; i < 15; i++)
            {
                if (!work[i].AsSpan().SequenceEqual(original[i]))
                {
                    failures.Add($"thread {t} shard {i}");
                }
            }
        });

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void Encode_and_cached_reconstruct_allocate_nothing_in_steady_state()
    {
        var rs = new ReedSolomon(10, 5);
        Memory<byte>[] shards = ShardSet.AsMemory(ShardSet.Random(15, 65536, 5));
        bool[] present = Enumerable.Repeat(true, 15).ToArray();
        present[1] = present[3] = present[12] = false;
        // Warm up past tiered compilation, whose call counting and OSR may allocate on this thread.
        for (int i = 0; i < 200; i++)
        {
            rs.Encode(shards);
            rs.Reconstruct(shards, present);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++)
        {
            rs.Encode(shards);
            rs.Reconstruct(shards, present);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void Zero_length_shards_are_a_no_op()
    {
        var rs = new ReedSolomon(3, 2);
        Memory<byte>[] shards = Enumerable.Repeat(Memory<byte>.Empty, 5).ToArray();
        rs.Encode(shards);
        Assert.That(rs.Verify(shards), Is.True);
        rs.Reconstruct(shards, [true, false, true, true, false]);
    }
}
