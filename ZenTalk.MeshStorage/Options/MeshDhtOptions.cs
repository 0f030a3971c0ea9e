namespace ZenTalk.MeshStorage;

/// <summary>The node's part in the Kademlia DHT: deadlines and maintenance (<see cref="MeshNodeOptions.Dht"/>).</summary>
public sealed class MeshDhtOptions
{
    /// <summary>
    /// Deadline of one DHT request (and one small record call) to one peer; a slower peer counts as failed and the
    /// lookup goes on without it. A whole lookup gets six times this. Default 3 seconds.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the DHT drops expired records, refreshes buckets and republishes. Default 1 minute.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// First wait before a node that reached none of its bootstrap peers tries them again (then doubling, up to a
    /// minute). Default 5 seconds.
    /// </summary>
    public TimeSpan BootstrapRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    internal MeshDhtOptions Clone() => (MeshDhtOptions)MemberwiseClone();
}
