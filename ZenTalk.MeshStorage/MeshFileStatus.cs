namespace ZenTalk.MeshStorage;

/// <summary>The state of a stored file, segment by segment.</summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record MeshFileStatus
{
    /// <summary>The file's content identifier.</summary>
    public required Cid Cid { get; init; }

    /// <summary>The plaintext size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The health of the worst segment.</summary>
    public required FileHealth Health { get; init; }

    /// <summary>One entry per segment, in order.</summary>
    public required IReadOnlyList<SegmentStatus> Segments { get; init; }
}
