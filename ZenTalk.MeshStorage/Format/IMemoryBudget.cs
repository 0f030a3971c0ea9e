namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// Bytes a node lets its file reads and repairs hold at once for segment buffers, whatever the manifests they work
/// on ask for. Takers wait until enough is free.
/// </summary>
internal interface IMemoryBudget
{
    /// <summary>The bytes it allows in all.</summary>
    long Capacity { get; }

    /// <summary>Takes <paramref name="bytes"/> (at most <see cref="Capacity"/>), waiting until they are free; returns what was taken.</summary>
    ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken);

    /// <summary>Gives back bytes taken with <see cref="AcquireAsync"/>.</summary>
    void Release(long bytes);
}
