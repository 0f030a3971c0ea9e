using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The shard store's log messages (source-generated), event ids 5000-5999 (ranges in MeshNodeLog): 5000-5099 the
/// store, 5100-5199 layout upgrades.
/// </summary>
internal static partial class ShardsLog
{
    [LoggerMessage(5000, LogLevel.Information, "Discarded {Bytes} bytes of unfinished writes at the end of {Pack}.")]
    public static partial void UnfinishedWritesDiscarded(this ILogger logger, long bytes, string pack);

    [LoggerMessage(5001, LogLevel.Warning, "Pack {Pack} has {What} at bytes {From}..{To}; it is skipped.")]
    public static partial void PackDamaged(this ILogger logger, string pack, string what, long from, long to);

    [LoggerMessage(5002, LogLevel.Information, "Pack {Pack} has {What} at bytes {From}..{To} (an unfinished write); it is skipped.")]
    public static partial void PackUnfinished(this ILogger logger, string pack, string what, long from, long to);

    [LoggerMessage(5003, LogLevel.Warning, "Pack {Pack} has a damaged file header, so its records cannot be checked; it is moved to {Target}.")]
    public static partial void PackHeaderDamaged(this ILogger logger, string pack, string target);

    [LoggerMessage(5004, LogLevel.Warning, "Could not seal pack {Pack}.")]
    public static partial void SealFailed(this ILogger logger, Exception exception, string pack);

    [LoggerMessage(5005, LogLevel.Warning, "Shard {Hash} is quarantined: {Reason}.")]
    public static partial void ShardQuarantined(this ILogger logger, Sha256Hash hash, string reason);

    [LoggerMessage(5006, LogLevel.Warning, "Could not copy shard {Hash} to quarantine.")]
    public static partial void QuarantineCopyFailed(this ILogger logger, Exception exception, Sha256Hash hash);

    [LoggerMessage(5007, LogLevel.Information, "Dropped {Holds} {Why} holds; {Count} shards had no other and were removed.")]
    public static partial void HoldsDropped(this ILogger logger, int holds, string why, int count);

    [LoggerMessage(5008, LogLevel.Warning, "Compacting the shard store in {Directory} failed; it is retried after the next delete.")]
    public static partial void CompactionFailed(this ILogger logger, Exception exception, string directory);

    [LoggerMessage(5009, LogLevel.Information, "Removing pack {Pack}: all of its records are dead.")]
    public static partial void PackRetired(this ILogger logger, string pack);

    [LoggerMessage(5100, LogLevel.Information, "Finishing the cleanup of an interrupted shard store upgrade in {Directory}.")]
    public static partial void UpgradeCleanupFinishing(this ILogger logger, string directory);

    [LoggerMessage(5101, LogLevel.Warning, "Restarting an interrupted upgrade of the shard store in {Directory} from layout {From} to {To}.")]
    public static partial void UpgradeRestarting(this ILogger logger, string directory, int from, int to);

    [LoggerMessage(5102, LogLevel.Information, "Upgrading the shard store in {Directory} from layout {From} to {To}.")]
    public static partial void Upgrading(this ILogger logger, string directory, int from, int to);

    [LoggerMessage(5103, LogLevel.Information, "Upgraded {Count} shards in {Directory} to layout {To}.")]
    public static partial void Upgraded(this ILogger logger, int count, string directory, int to);
}
