using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>A node's view of the mesh at one moment.</summary>
/// <param name="NodeId">This node's id.</param>
/// <param name="Addresses">The endpoints this node listens on, as host:port.</param>
/// <param name="RoutingTableSize">Peers in the routing table.</param>
/// <param name="Peers">Known peers, closest buckets first.</param>
/// <param name="StoredShards">Shards this node holds for the mesh.</param>
/// <param name="StoredBytes">Bytes of shards this node holds.</param>
public sealed record MeshNetworkInfo(NodeId NodeId, IReadOnlyList<string> Addresses, int RoutingTableSize,
    IReadOnlyList<MeshPeerInfo> Peers, long StoredShards, long StoredBytes);
