using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage;

/// <summary>The state of a stored file, segment by segment.</summary>
/// <param name="Cid">The file's content identifier.</param>
/// <param name="Size">The plaintext size in bytes.</param>
/// <param name="Health">The health of the worst segment.</param>
/// <param name="Segments">One entry per segment, in order.</param>
public sealed record MeshFileStatus(Cid Cid, long Size, FileHealth Health, IReadOnlyList<SegmentStatus> Segments);
