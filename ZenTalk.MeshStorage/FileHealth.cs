namespace ZenTalk.MeshStorage;

/// <summary>How safe a segment (or, as its worst segment, a file) is, by the number of valid shards found.</summary>
public enum FileHealth
{
    /// <summary>All shards are present and valid.</summary>
    Excellent,

    /// <summary>Some shards are missing but more than one more loss can be survived.</summary>
    Degraded,

    /// <summary>At most one more lost shard leaves the data readable; repair is urgent.</summary>
    Critical,

    /// <summary>Fewer valid shards than data shards: the segment cannot be rebuilt.</summary>
    Lost,
}
