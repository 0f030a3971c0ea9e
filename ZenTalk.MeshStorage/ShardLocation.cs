using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>A node holding one shard of a segment.</summary>
/// <param name="ShardIndex">The shard's index within its segment (data shards first, then parity).</param>
/// <param name="Node">The holder's node id.</param>
/// <param name="Endpoint">The holder's address as host:port.</param>
public sealed record ShardLocation(int ShardIndex, NodeId Node, string Endpoint);
