namespace ZenTalk.MeshStorage.Distributed;

/// <summary>What one repair pass did.</summary>
/// <param name="FilesChecked">Files whose segments this node checked (it is the closest live node to their CID).</param>
/// <param name="ShardsRepaired">Shards rebuilt and placed again.</param>
/// <param name="ShardsDropped">Local shards dropped because their file was deleted or expired.</param>
/// <param name="SegmentsLost">Segments with fewer than k valid shards at every node that may hold them (cannot be rebuilt).</param>
/// <param name="SegmentsChecked">Segments checked (at most RepairSegmentsPerFile per file).</param>
/// <param name="SegmentsUnreachable">Segments with fewer than k valid shards at the nodes that answered, while others that
/// may hold shards did not answer (down, or not yet known after a restart): checked again next pass.</param>
internal readonly record struct RepairReport(int FilesChecked, int ShardsRepaired, int ShardsDropped, int SegmentsLost, int SegmentsChecked, int SegmentsUnreachable = 0);
