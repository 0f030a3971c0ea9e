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
            // Reuse the arrays of an earlier run of the same file, so the benchmark measures the pipeline, not the GC.
            if (segment.Index == _segments.Count)
            {
                _segments.Add(segment.Shards.Select(s => new byte[s.Length]).ToArray());
            }

            var target = _segments[segment.Index];
            for (var j = 0; j < target.Length; j++)
            {
                segment.Shards[j].CopyTo(target[j]);
            }
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
