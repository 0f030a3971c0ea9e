namespace ZenTalk.MeshStorage;

/// <summary>A node holding one shard of a segment.</summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record ShardLocation
{
    /// <summary>The shard's index within its segment (data shards first, then parity).</summary>
    public required int ShardIndex { get; init; }

    /// <summary>The holder's node id.</summary>
    public required NodeId Node { get; init; }

    /// <summary>The holder's address as host:port.</summary>
    public required string Endpoint { get; init; }
}
