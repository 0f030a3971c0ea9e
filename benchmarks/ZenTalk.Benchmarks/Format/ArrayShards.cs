using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>Shards kept in arrays (or discarded), so the benchmarks measure the pipeline, not storage.</summary>
internal sealed class ArrayShards(bool keep) : IShardSink, IShardSource
{
    private readonly List<byte[][]> _segments = new();

    /// <summary>Shards the source pretends are missing (per segment), to force reconstruction.</summary>
    public HashSet<int> Missing { get; } = new();

    public byte[][] Segment(int index) => _segments[index];

    public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
    {
        if (keep)
        {
            _segments.Add(segment.Shards.Select(s => s.ToArray()).ToArray());
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (Missing.Contains(shard))
        {
            return ValueTask.FromResult(false);
        }

        _segments[segment][shard].CopyTo(destination);
        return ValueTask.FromResult(true);
    }
}
