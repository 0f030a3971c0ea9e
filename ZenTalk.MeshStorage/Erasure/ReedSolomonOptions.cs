namespace ZenTalk.MeshStorage.Erasure;

/// <summary>Settings of a <see cref="ReedSolomon"/> codec. The defaults suit the mesh (one thread per call, Vandermonde).</summary>
public sealed class ReedSolomonOptions
{
    /// <summary>The encoding matrix. Default <see cref="ReedSolomonMatrix.Vandermonde"/> (klauspost/Backblaze compatible).</summary>
    public ReedSolomonMatrix Matrix { get; init; } = ReedSolomonMatrix.Vandermonde;

    /// <summary>
    /// How many threads one call may use, splitting the shards into byte ranges. Default 1: the mesh already runs
    /// many segments at once, and one core of a GFNI machine encodes tens of GB/s. Must be at least 1.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>
    /// The smallest byte range of a shard given to one thread when <see cref="MaxDegreeOfParallelism"/> is above 1
    /// (like klauspost's minimum split size); shards shorter than twice this run on the calling thread. Default 128 KiB;
    /// must be at least 64.
    /// </summary>
    public int MinBytesPerThread { get; init; } = 128 * 1024;

    /// <summary>How many decode matrices (one per erasure pattern) are cached. Default 1024; 0 disables the cache.</summary>
    public int DecodeCacheCapacity { get; init; } = 1024;

    /// <summary>Forces an inner loop (tests and benchmarks); <see cref="ReedSolomonKernel.Auto"/> picks the fastest.</summary>
    internal ReedSolomonKernel Kernel { get; init; } = ReedSolomonKernel.Auto;
}
