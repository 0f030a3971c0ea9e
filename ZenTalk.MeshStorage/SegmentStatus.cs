namespace ZenTalk.MeshStorage;

/// <summary>The shards of one segment as the mesh holds them now.</summary>
/// <param name="Index">The segment's position in the file, from 0.</param>
/// <param name="ShardsExpected">The total shards per segment (data + parity).</param>
/// <param name="ShardsFound">Shards some node claims to hold.</param>
/// <param name="ShardsVerified">Shards read back and matching their hash.</param>
/// <param name="MissingShards">Indexes of the shards no node holds validly.</param>
/// <param name="Health">The segment's health.</param>
/// <param name="Holders">Where each shard that was found lives.</param>
public sealed record SegmentStatus(int Index, int ShardsExpected, int ShardsFound, int ShardsVerified,
    IReadOnlyList<int> MissingShards, FileHealth Health, IReadOnlyList<ShardLocation> Holders);
