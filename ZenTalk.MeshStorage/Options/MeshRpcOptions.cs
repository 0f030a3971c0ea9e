namespace ZenTalk.MeshStorage;

/// <summary>Calls between nodes (<see cref="MeshNodeOptions.Rpc"/>).</summary>
public sealed class MeshRpcOptions
{
    /// <summary>
    /// Deadline of one shard call (put, get, has, delete) to one holder; a slower holder is skipped and another is
    /// tried. Default 10 seconds.
    /// </summary>
    public TimeSpan ShardTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal MeshRpcOptions Clone() => (MeshRpcOptions)MemberwiseClone();
}
