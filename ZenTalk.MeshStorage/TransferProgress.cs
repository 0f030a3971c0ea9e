namespace ZenTalk.MeshStorage;

/// <summary>Progress of a store or retrieve.</summary>
/// <param name="BytesTransferred">Plaintext bytes processed so far.</param>
/// <param name="TotalBytes">The total, when known in advance (null for a stream of unknown length).</param>
/// <param name="SegmentsCompleted">Segments fully placed (store) or decoded (retrieve).</param>
public readonly record struct TransferProgress(long BytesTransferred, long? TotalBytes, int SegmentsCompleted);
