namespace ZenTalk.MeshStorage;

/// <summary>The shards of one segment as the mesh holds them now.</summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record SegmentStatus
{
    /// <summary>The segment's position in the file, from 0.</summary>
    public required int Index { get; init; }

    /// <summary>The total shards per segment (data + parity).</summary>
    public required int ShardsExpected { get; init; }

    /// <summary>Shards some node claims to hold.</summary>
    public required int ShardsFound { get; init; }

    /// <summary>Shards read back and matching their hash.</summary>
    public required int ShardsVerified { get; init; }

    /// <summary>Indexes of the shards no node holds validly.</summary>
    public required IReadOnlyList<int> MissingShards { get; init; }

    /// <summary>The segment's health.</summary>
    public required FileHealth Health { get; init; }

    /// <summary>Where each shard that was found lives.</summary>
    public required IReadOnlyList<ShardLocation> Holders { get; init; }
}
