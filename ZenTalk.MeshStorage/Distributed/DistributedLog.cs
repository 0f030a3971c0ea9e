using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>The Distributed layer's log messages (source-generated), event ids 4000-4999 (ranges in MeshNodeLog).</summary>
internal static partial class DistributedLog
{
    [LoggerMessage(4000, LogLevel.Debug, "Stored {Cid}: {Size} bytes in {Segments} segments")]
    public static partial void Stored(this ILogger logger, Cid cid, long size, int segments);

    [LoggerMessage(4001, LogLevel.Debug, "Deleted {Cid}: tombstone at {Nodes} nodes")]
    public static partial void Deleted(this ILogger logger, Cid cid, int nodes);

    [LoggerMessage(4100, LogLevel.Information, "Repair pass: {Report}")]
    public static partial void RepairPass(this ILogger logger, RepairReport report);

    [LoggerMessage(4101, LogLevel.Warning, "Repair pass failed; retrying next interval")]
    public static partial void RepairPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(4102, LogLevel.Debug, "Could not check {Cid} this pass; next pass retries")]
    public static partial void RepairCheckFailed(this ILogger logger, Exception exception, Cid cid);

    [LoggerMessage(4103, LogLevel.Warning, "Quarantined {Cid}: {Reason}. Its record is kept, but this node no longer repairs it")]
    public static partial void Quarantined(this ILogger logger, Exception? exception, Cid cid, string reason);

    [LoggerMessage(4104, LogLevel.Debug, "Not keeping the tombstone of {Cid}: {Reason}")]
    public static partial void TombstoneRefused(this ILogger logger, Cid cid, string reason);

    [LoggerMessage(4105, LogLevel.Warning, "{Lost} of the {Checked} segments of {Cid} checked this pass have fewer than {K} valid shards at every node that may hold them: they cannot be rebuilt")]
    public static partial void SegmentsLost(this ILogger logger, int lost, int @checked, Cid cid, int k);

    [LoggerMessage(4106, LogLevel.Information, "Segment {Segment} of {Cid} has {Valid} valid shards of the {K} needed, but only {Answered} of the {Expected} nodes that may hold them answered: checking again next pass")]
    public static partial void SegmentUnreachable(this ILogger logger, int segment, Cid cid, int valid, int k, int answered, int expected);

    [LoggerMessage(4107, LogLevel.Debug, "Segment {Segment} of {Cid} has {Valid} valid shards of the {K} needed at the {Answered} nodes that answered: it cannot be rebuilt")]
    public static partial void SegmentLost(this ILogger logger, int segment, Cid cid, int valid, int k, int answered);
}
