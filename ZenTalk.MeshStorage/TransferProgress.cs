namespace ZenTalk.MeshStorage;

/// <summary>Progress of a store or retrieve.</summary>
/// <remarks>
/// A struct (reported once per segment, without allocating) with init properties rather than a positional record,
/// so later versions can add members.
/// </remarks>
public readonly record struct TransferProgress
{
    /// <summary>Plaintext bytes processed so far.</summary>
    public long BytesTransferred { get; init; }

    /// <summary>The total, when known in advance (null for a stream of unknown length).</summary>
    public long? TotalBytes { get; init; }

    /// <summary>Segments fully placed (store) or decoded (retrieve).</summary>
    public int SegmentsCompleted { get; init; }
}
