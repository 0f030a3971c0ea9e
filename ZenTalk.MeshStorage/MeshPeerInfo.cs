using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>A peer in a node's routing table.</summary>
/// <param name="Id">The peer's node id.</param>
/// <param name="Endpoint">The peer's address as host:port.</param>
/// <param name="LastSeen">When the peer last answered.</param>
public sealed record MeshPeerInfo(NodeId Id, string Endpoint, DateTimeOffset LastSeen);
