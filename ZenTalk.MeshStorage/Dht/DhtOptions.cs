namespace ZenTalk.MeshStorage.Dht;

/// <summary>Kademlia parameters and the DHT's limits. Defaults follow the Kademlia paper and libp2p's kad-dht.</summary>
internal sealed class DhtOptions
{
    /// <summary>Bucket size and replication factor (k).</summary>
    public int K { get; init; } = 20;

    /// <summary>Parallel requests per lookup (α).</summary>
    public int Alpha { get; init; } = 3;

    /// <summary>How long one peer may take to answer one lookup request before it counts as failed.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Deadline of a whole lookup; when it passes, the lookup returns what it has (partial result).</summary>
    public TimeSpan LookupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Most entries of one bucket from one /24 (IPv4) or /64 (IPv6) network, against eclipse attacks.</summary>
    public int MaxPerSubnetPerBucket { get; init; } = 2;

    /// <summary>Exempts loopback addresses from <see cref="MaxPerSubnetPerBucket"/>: for test clusters on 127.0.0.0/8
    /// and ::1 only. Never enable it for a node reachable from other machines.</summary>
    public bool AllowLoopbackClusters { get; init; }

    /// <summary>Consecutive failed requests after which a peer is replaced in the routing table by a waiting newcomer
    /// (with no newcomer waiting it stays; see <see cref="RoutingTable.RecordFailure"/>).</summary>
    public int MaxFailures { get; init; } = 2;

    /// <summary>A bucket with no lookup for this long gets a lookup of a random id in its range.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a stored record lives when the publisher sets no expiry; also the longest any record is kept.</summary>
    public TimeSpan RecordTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>How often records held here are stored again at the k closest nodes (so they survive churn).</summary>
    public TimeSpan RepublishInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Records one node holds at most (further stores are refused).</summary>
    public int MaxRecords { get; init; } = 100_000;

    /// <summary>Largest record value accepted.</summary>
    public int MaxRecordValueSize { get; init; } = 256 * 1024;

    /// <summary>How often the maintenance loop runs (expiry, refresh, republish).</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Checks that the values are usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (K < 1 || K > 64) throw new ArgumentException("K must be between 1 and 64.", nameof(K));
        if (Alpha < 1 || Alpha > K) throw new ArgumentException("Alpha must be between 1 and K.", nameof(Alpha));
        if (MaxPerSubnetPerBucket < 1) throw new ArgumentException("MaxPerSubnetPerBucket must be at least 1.", nameof(MaxPerSubnetPerBucket));
        if (RequestTimeout <= TimeSpan.Zero || LookupTimeout <= TimeSpan.Zero)
            throw new ArgumentException("Timeouts must be positive.", nameof(RequestTimeout));
    }
}
