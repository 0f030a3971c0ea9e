using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>Settings of a <see cref="ShardStore"/>.</summary>
internal sealed class ShardStoreOptions
{
    /// <summary>The store's directory; created when missing.</summary>
    public required string Directory { get; init; }

    /// <summary>The quota a store has unless told otherwise: 10 GiB (docs/security.md, "Admission and accounting").</summary>
    public const long DefaultQuotaBytes = 10L << 30;

    /// <summary>The most payload bytes the store keeps (each shard counted once); <see cref="DefaultQuotaBytes"/> by default.</summary>
    public long QuotaBytes { get; init; } = DefaultQuotaBytes;

    /// <summary>
    /// The most payload bytes the holds of one owner key may account for (a shard two owners hold counts for both);
    /// null (the default) is an eighth of <see cref="QuotaBytes"/>. Holds whose owner is unknown are not limited.
    /// </summary>
    public long? MaxBytesPerOwner { get; init; }

    /// <summary>The most payload bytes the holds sent by one peer (node id) may account for; null (the default) is an
    /// eighth of <see cref="QuotaBytes"/>.</summary>
    public long? MaxBytesPerSender { get; init; }

    /// <summary>The most payload bytes the holds sent from one address prefix (IPv4 /24, IPv6 /48) may account for;
    /// null (the default) is a quarter of <see cref="QuotaBytes"/>.</summary>
    public long? MaxBytesPerSenderPrefix { get; init; }

    /// <summary>A sender whose holds no per-sender or per-prefix limit applies to: the node itself (its own uploads).</summary>
    public NodeId? UnlimitedSender { get; init; }

    internal long OwnerLimit => MaxBytesPerOwner ?? QuotaBytes / 8;

    internal long SenderLimit => MaxBytesPerSender ?? QuotaBytes / 8;

    internal long PrefixLimit => MaxBytesPerSenderPrefix ?? QuotaBytes / 4;

    /// <summary>
    /// The size at which the active pack file is sealed and a new one started (a record larger than this gets a pack
    /// of its own). 128 MiB by default: large enough that a node keeps few files open, small enough that checking the
    /// unsealed pack at open (its records are re-hashed) and rewriting a mostly dead one stay short.
    /// </summary>
    public long PackBytes { get; init; } = 128L << 20;

    /// <summary>
    /// How many bytes of zeros the active pack is written ahead of its last record (1 MiB by default; 0 turns it off),
    /// so that puts overwrite existing blocks and their <c>fdatasync</c> does not also write the file's size and block
    /// map. Costs one extra page-cache write of each byte; see docs/formats.md §4.
    /// </summary>
    internal long PreallocateBytes { get; init; } = 1L << 20;

    /// <summary>The share of a sealed pack's bytes that must be dead before compaction rewrites it (0.5 by default).</summary>
    public double CompactDeadShare { get; init; } = 0.5;

    /// <summary>The clock for stored times and expiry (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where quarantines, upgrades and recoveries are reported.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>
    /// Test hook called at each point of a layout upgrade with the point's name (<see cref="ShardStoreLayout"/>); a test
    /// throws from it to simulate a crash there.
    /// </summary>
    internal Action<string>? MigrationStep { get; init; }

    /// <summary>
    /// Test hook: the layout upgrades to run instead of <see cref="ShardStoreLayout.Upgrades"/>, so the upgrade
    /// machinery is exercised on a layout older than any this build ships a step for.
    /// </summary>
    internal IReadOnlyList<ShardStoreUpgrade>? Upgrades { get; init; }
}
