using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

/// <summary>Bad input gets a clear exception and leaves the caller's shards as they were.</summary>
public class ReedSolomonArgumentTests
{
    [TestCase(0, 1, "dataShards")]
    [TestCase(1, 0, "parityShards")]
    [TestCase(200, 57, "parityShards")]
    [TestCase(-3, 2, "dataShards")]
    public void Constructor_rejects_impossible_shard_counts(int k, int m, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReedSolomon(k, m));
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
    }

    [Test]
    public void Constructor_accepts_the_largest_field_sized_code()
    {
        Assert.That(new ReedSolomon(128, 128).TotalShards, Is.EqualTo(256));
    }

    [Test]
    public void Constructor_rejects_bad_options()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReedSolomon(4, 2, new ReedSolomonOptions { MaxDegreeOfParallelism = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReedSolomon(4, 2, new ReedSolomonOptions { MinBytesPerThread = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReedSolomon(4, 2, new ReedSolomonOptions { DecodeCacheCapacity = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ReedSolomon(4, 2, new ReedSolomonOptions { Matrix = (ReedSolomonMatrix)7 }));
    }

    [Test]
    public void Wrong_shard_count_is_refused_by_every_operation()
    {
        var rs = new ReedSolomon(4, 2);
        Memory<byte>[] five = ShardSet.AsMemory(ShardSet.Random(5, 8, 1));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Encode(five))!.ParamName, Is.EqualTo("shards"));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Verify(five))!.ParamName, Is.EqualTo("shards"));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Reconstruct(five, new bool[5]))!.ParamName, Is.EqualTo("shards"));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.ReconstructData(five, new bool[5]))!.ParamName, Is.EqualTo("shards"));
    }

    [Test]
    public void Unequal_shard_lengths_are_refused_without_writing_anything()
    {
        var rs = new ReedSolomon(4, 2);
        byte[][] shards = ShardSet.Random(6, 8, 2);
        shards[3] = new byte[9];
        byte[][] before = ShardSet.Clone(shards);
        var e = Assert.Throws<ArgumentException>(() => rs.Encode(ShardSet.AsMemory(shards)));
        Assert.That(e!.Message, Does.Contain("Shard 3"));
        Assert.Throws<ArgumentException>(() => rs.Verify(ShardSet.AsMemory(shards)));
        Assert.Throws<ArgumentException>(() => rs.Reconstruct(ShardSet.AsMemory(shards), [true, true, true, true, false, true]));
        Assert.That(shards, Is.EqualTo(before));
    }

    [Test]
    public void Presence_flags_must_match_the_shard_count()
    {
        var rs = new ReedSolomon(4, 2);
        Memory<byte>[] shards = ShardSet.AsMemory(ShardSet.Random(6, 8, 3));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Reconstruct(shards, new bool[5]))!.ParamName, Is.EqualTo("present"));
    }

    [Test]
    public void Too_few_present_shards_raise_ShardsUnavailable_and_lose_nothing()
    {
        var rs = new ReedSolomon(4, 2);
        byte[][] shards = ShardSet.Random(6, 8, 4);
        byte[][] before = ShardSet.Clone(shards);
        bool[] present = [true, false, true, false, true, false];
        var e = Assert.Throws<ShardsUnavailableException>(() => rs.Reconstruct(ShardSet.AsMemory(shards), present));
        Assert.That(e!.Message, Does.Contain("3 of 6"));
        Assert.Throws<ShardsUnavailableException>(() => rs.ReconstructData(ShardSet.AsMemory(shards), present));
        Assert.That(shards, Is.EqualTo(before));
    }

    [Test]
    public void A_missing_shard_needs_a_buffer_of_the_shard_size()
    {
        var rs = new ReedSolomon(4, 2);
        byte[][] shards = ShardSet.Random(6, 8, 5);
        shards[1] = new byte[3];
        var e = Assert.Throws<ArgumentException>(() => rs.Reconstruct(ShardSet.AsMemory(shards), [true, false, true, true, true, true]));
        Assert.That(e!.Message, Does.Contain("Missing shard 1"));
    }

    [Test]
    public void Split_and_Join_refuse_impossible_sizes()
    {
        var rs = new ReedSolomon(4, 2);
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Split(ReadOnlySpan<byte>.Empty))!.ParamName, Is.EqualTo("data"));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Split(new byte[10], 10))!.ParamName, Is.EqualTo("buffer"));
        Assert.Throws<ArgumentOutOfRangeException>(() => rs.Split(new byte[10], 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => rs.GetShardSize(0));
        Memory<byte>[] shards = ShardSet.AsMemory(ShardSet.Random(6, 2, 6));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Join(shards, new byte[9]))!.ParamName, Is.EqualTo("destination"));
        Assert.That(Assert.Throws<ArgumentException>(() => rs.Join(shards[..3], new byte[1]))!.ParamName, Is.EqualTo("shards"));
    }

    [Test]
    public void Forcing_a_kernel_the_CPU_lacks_is_refused()
    {
        var missing = Enum.GetValues<ReedSolomonKernel>().Where(k => !KernelSelector.IsSupported(k)).ToArray();
        if (missing.Length == 0)
        {
            Assert.Ignore("This CPU supports every kernel.");
        }

        Assert.Throws<ArgumentException>(() => _ = new ReedSolomon(4, 2, new ReedSolomonOptions { Kernel = missing[0] }));
    }
}
