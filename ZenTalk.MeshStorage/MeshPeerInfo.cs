namespace ZenTalk.MeshStorage;

/// <summary>A peer in a node's routing table.</summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record MeshPeerInfo
{
    /// <summary>The peer's node id.</summary>
    public required NodeId Id { get; init; }

    /// <summary>The peer's address as host:port.</summary>
    public required string Endpoint { get; init; }

    /// <summary>When the peer last answered.</summary>
    public required DateTimeOffset LastSeen { get; init; }
}
