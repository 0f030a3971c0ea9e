namespace ZenTalk.MeshStorage;

/// <summary>What a storing node keeps for the mesh, and for whom (<see cref="MeshNodeOptions.Storage"/>).</summary>
public sealed class MeshShardStorageOptions
{
    /// <summary>The default of <see cref="QuotaBytes"/>: 10 GiB.</summary>
    public const long DefaultQuotaBytes = Shards.ShardStoreOptions.DefaultQuotaBytes;

    /// <summary>
    /// The most shard bytes this node stores for the mesh. Default <see cref="DefaultQuotaBytes"/> (10 GiB). One owner
    /// key and one peer may account for an eighth of it each, one address prefix (IPv4 /24, IPv6 /48) for a quarter
    /// (docs/security.md, "Admission and accounting").
    /// </summary>
    public long QuotaBytes { get; set; } = DefaultQuotaBytes;

    /// <summary>The most shard bytes one owner key's holds may account for; null (the default) = an eighth of the quota.</summary>
    public long? MaxBytesPerOwner { get; set; }

    /// <summary>The most shard bytes one peer may make this node keep; null (the default) = an eighth of the quota.</summary>
    public long? MaxBytesPerPeer { get; set; }

    /// <summary>
    /// The most shard bytes peers of one address prefix may make this node keep; null (the default) = a quarter of the
    /// quota, or the whole quota on a loopback listener (every peer of a local cluster has the same prefix).
    /// </summary>
    public long? MaxBytesPerAddressPrefix { get; set; }

    /// <summary>
    /// How long a shard hold that no live manifest references is kept (a streamed upload's, before its manifest
    /// arrives). Default 24 hours.
    /// </summary>
    public TimeSpan UnreferencedGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How far a signed delete request's timestamp may be from this node's clock. Default 5 minutes.</summary>
    public TimeSpan DeleteWindow { get; set; } = TimeSpan.FromMinutes(5);

    internal MeshShardStorageOptions Clone() => (MeshShardStorageOptions)MemberwiseClone();
}
