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

    /// <summary>How long a peer whose last request failed counts as failing (<see cref="RoutingTable.FailedRecently"/>)
    /// unless it answers before: lookups do not wait for it and stores send it nothing unconfirmed. Every lookup that
    /// asks it again and fails renews the record; any answer clears it.</summary>
    public TimeSpan FailureMemory { get; init; } = TimeSpan.FromMinutes(2);

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

    /// <summary>Largest value of an unsigned (IMMUTABLE) record: anyone can make one, so they stay small.</summary>
    public int MaxUnsignedValueSize { get; init; } = 64 * 1024;

    /// <summary>How long an unsigned (IMMUTABLE) record lives from when it was first stored; storing or republishing
    /// it again never extends it (nobody signed a lifetime for it).</summary>
    public TimeSpan UnsignedRecordTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Bytes of records one node holds at most, every field counted plus a fixed cost per record
    /// (<see cref="RecordStore.OverheadPerRecord"/>).</summary>
    public long MaxRecordBytes { get; init; } = 64L << 20;

    /// <summary>Bytes of records that one peer may have stored here.</summary>
    public long MaxRecordBytesPerPeer { get; init; } = 8L << 20;

    /// <summary>Bytes of records that peers of one network (IPv4 /24, IPv6 /48) may have stored here; loopback is
    /// exempt under <see cref="AllowLoopbackClusters"/>.</summary>
    public long MaxRecordBytesPerPrefix { get; init; } = 16L << 20;

    /// <summary>
    /// A STORE_VALUE from a peer is taken only when fewer than <see cref="K"/> + this many peers in the routing table are
    /// closer to the key than this node: the node is among the k closest it knows, with room for churn (a publisher's
    /// view of the neighbourhood is never quite ours).
    /// </summary>
    public int StoreClosenessSlack { get; init; } = 20;

    /// <summary>Which non-public networks peers may be on when someone else names them (lookup answers, callers' claimed
    /// addresses, mDNS). Null: the scope of the node's own listen address (see <see cref="PeerAddressFilter.For"/>).</summary>
    public AddressScopes? PeerAddressScopes { get; init; }

    /// <summary>A lookup stops asking the peers one responder named once this many of them failed (and more failed than
    /// answered): one liar costs a lookup a bounded number of dials.</summary>
    public int MaxFailedReferralsPerPeer { get; init; } = 3;

    /// <summary>Dial-backs that check a caller's claimed listen address, at most this many at once.</summary>
    public int MaxConcurrentInboundChecks { get; init; } = 16;

    /// <summary>Dial-backs to one caller address in a burst; then one per <see cref="InboundCheckInterval"/>. Loopback
    /// is exempt under <see cref="AllowLoopbackClusters"/>.</summary>
    public int InboundChecksPerAddress { get; init; } = 4;

    /// <summary>How often one caller address earns another dial-back once its burst is spent.</summary>
    public TimeSpan InboundCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a claimed address that failed its check is not checked again.</summary>
    public TimeSpan InboundCheckBackoff { get; init; } = TimeSpan.FromMinutes(10);

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
        if (MaxRecordBytes < 1 || MaxRecordBytesPerPeer < 1 || MaxRecordBytesPerPrefix < 1)
            throw new ArgumentException("Record byte limits must be positive.", nameof(MaxRecordBytes));
        if (FailureMemory < TimeSpan.Zero) throw new ArgumentException("FailureMemory must not be negative.", nameof(FailureMemory));
        if (StoreClosenessSlack < 0) throw new ArgumentException("StoreClosenessSlack must not be negative.", nameof(StoreClosenessSlack));
        if (MaxFailedReferralsPerPeer < 1) throw new ArgumentException("MaxFailedReferralsPerPeer must be at least 1.", nameof(MaxFailedReferralsPerPeer));
        if (MaxConcurrentInboundChecks < 1 || InboundChecksPerAddress < 1 || InboundCheckInterval <= TimeSpan.Zero)
            throw new ArgumentException("Inbound check limits must be positive.", nameof(MaxConcurrentInboundChecks));
    }
}
