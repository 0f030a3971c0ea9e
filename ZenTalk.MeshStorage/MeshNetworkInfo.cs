namespace ZenTalk.MeshStorage;

/// <summary>A node's view of the mesh at one moment.</summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record MeshNetworkInfo
{
    /// <summary>This node's id.</summary>
    public required NodeId NodeId { get; init; }

    /// <summary>The endpoints this node listens on, as host:port.</summary>
    public required IReadOnlyList<string> Addresses { get; init; }

    /// <summary>Peers in the routing table.</summary>
    public required int RoutingTableSize { get; init; }

    /// <summary>Known peers, closest buckets first.</summary>
    public required IReadOnlyList<MeshPeerInfo> Peers { get; init; }

    /// <summary>Shards this node holds for the mesh.</summary>
    public required long StoredShards { get; init; }

    /// <summary>Bytes of shards this node holds.</summary>
    public required long StoredBytes { get; init; }
}
