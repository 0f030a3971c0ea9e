namespace ZenTalk.MeshStorage.Format;

/// <summary>Receives a file's shards from <see cref="FileEncoder"/>, one segment at a time, in segment order.</summary>
internal interface IShardSink
{
    /// <summary>Stores or sends the segment's shards; the memory is reused after this returns.</summary>
    ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken);
}
