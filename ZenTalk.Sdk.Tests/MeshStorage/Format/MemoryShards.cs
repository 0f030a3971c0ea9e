using System.Collections.Concurrent;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Sdk.Tests.MeshStorage.Format;

/// <summary>An in-memory shard sink and source; tests drop or corrupt shards to play a hostile network.</summary>
internal sealed class MemoryShards : IShardSink, IShardSource
{
    public ConcurrentDictionary<(int Segment, int Shard), byte[]> Shards { get; } = new();

    public int SegmentsWritten { get; private set; }

    public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
    {
        Assert.That(segment.Index, Is.EqualTo(SegmentsWritten), "segments arrive in order");
        SegmentsWritten++;
        for (var j = 0; j < segment.Shards.Length; j++)
        {
            Assert.That(segment.Hashes[j], Is.EqualTo(Sha256Hash.Compute(segment.Shards[j].Span)));
            Shards[(segment.Index, j)] = segment.Shards[j].ToArray();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (!Shards.TryGetValue((segment, shard), out var data) || data.Length != destination.Length)
        {
            return ValueTask.FromResult(false);
        }

        data.CopyTo(destination);
        return ValueTask.FromResult(true);
    }
}
