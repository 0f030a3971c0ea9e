namespace ZenTalk.MeshStorage;

/// <summary>The background repair of a storing node (<see cref="MeshNodeOptions.Repair"/>).</summary>
public sealed class MeshRepairOptions
{
    /// <summary>
    /// How often the repair service checks the files this node is responsible for (rebuilding missing shards) and
    /// drops shards of deleted or expired files. Default 10 minutes; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    internal MeshRepairOptions Clone() => (MeshRepairOptions)MemberwiseClone();
}
