using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>The Distributed layer's log messages (source-generated), event ids 4000-4999 (ranges in MeshNodeLog): 4000-4099 store and delete, 4100-4199 repair, 4200-4299 the file index and its logs.</summary>
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

    [LoggerMessage(4106, LogLevel.Information, "Segment {Segment} of {Cid} has {Valid} valid shards of the {K} needed at the {Answered} nodes that answered, but {Unanswered} nodes that may hold its shards did not answer ({Claimed} more shards were claimed by nodes that then did not send them): checking again next pass")]
    public static partial void SegmentUnreachable(this ILogger logger, int segment, Cid cid, int valid, int k, int answered, int unanswered, int claimed);

    [LoggerMessage(4107, LogLevel.Debug, "Segment {Segment} of {Cid} has {Valid} valid shards of the {K} needed at the {Answered} nodes that answered: it cannot be rebuilt")]
    public static partial void SegmentLost(this ILogger logger, int segment, Cid cid, int valid, int k, int answered);

    [LoggerMessage(4108, LogLevel.Debug, "Segment {Segment} of {Cid}: {Candidates} candidates ({LookupUnanswered} more did not answer the lookup), {Answered} answered HAS_SHARDS, {Missing} shards missing, {Spread} to spread off crowded nodes")]
    public static partial void SegmentChecked(this ILogger logger, int segment, Cid cid, int candidates, int lookupUnanswered, int answered, int missing, int spread);

    [LoggerMessage(4109, LogLevel.Debug, "Repair put of shard {Shard} of segment {Segment} of {Cid} to {Node}: {Accepted}")]
    public static partial void RepairPut(this ILogger logger, int shard, int segment, Cid cid, NodeId node, bool accepted);

    [LoggerMessage(4110, LogLevel.Debug, "Not repairing {Cid}: {Node} is closer to it (its record handed over: {Handed})")]
    public static partial void RepairHandedOver(this ILogger logger, Cid cid, NodeId node, bool handed);

    [LoggerMessage(4111, LogLevel.Debug, "Repair pass in {Milliseconds} ms: {Report}")]
    public static partial void RepairPassQuiet(this ILogger logger, long milliseconds, RepairReport report);

    [LoggerMessage(4200, LogLevel.Warning, "Ignoring first-format tombstones of {Count} files whose manifest this node does not hold: nothing shows who signed them")]
    public static partial void UnsignedTombstonesIgnored(this ILogger logger, int count);

    [LoggerMessage(4201, LogLevel.Warning, "Ignoring a tombstone of {Cid} that its manifest's owner did not sign")]
    public static partial void TombstoneNotSigned(this ILogger logger, Exception exception, Cid cid);

    [LoggerMessage(4202, LogLevel.Warning, "Ignoring an invalid {Kind} entry of the file record log")]
    public static partial void InvalidRecordLogEntry(this ILogger logger, Exception exception, FileRecordLog.Kind kind);

    [LoggerMessage(4203, LogLevel.Warning, "Ignoring unreadable file record {Path}")]
    public static partial void UnreadableRecordFile(this ILogger logger, Exception exception, string path);

    [LoggerMessage(4204, LogLevel.Warning, "Keeping the {Count} file record files in {Directory}: the record log could not be written")]
    public static partial void RecordFilesKept(this ILogger logger, int count, string directory);

    [LoggerMessage(4205, LogLevel.Information, "Moved {Count} file record files into {Path}")]
    public static partial void RecordFilesMoved(this ILogger logger, int count, string path);

    [LoggerMessage(4206, LogLevel.Information, "Dropped {Count} shards of deleted file {Cid}")]
    public static partial void ShardsOfDeletedFileDropped(this ILogger logger, int count, Cid cid);

    [LoggerMessage(4210, LogLevel.Warning, "Not persisting a {Bytes}-byte {Kind} entry: the record log holds at most {Max} bytes per entry")]
    public static partial void RecordLogEntryTooLarge(this ILogger logger, int bytes, FileRecordLog.Kind kind, int max);

    [LoggerMessage(4211, LogLevel.Warning, "The file record log {Path} ends with {Damage} at offset {Offset}; cutting off its last {Bytes} bytes")]
    public static partial void RecordLogTailCut(this ILogger logger, string path, string damage, long offset, long bytes);

    [LoggerMessage(4212, LogLevel.Error, "The file record log {Path} failed; no more file records are persisted until restart")]
    public static partial void RecordLogFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(4213, LogLevel.Warning, "Could not append {Count} file records to {Path}; they are kept in memory only")]
    public static partial void RecordLogAppendFailed(this ILogger logger, Exception exception, int count, string path);

    [LoggerMessage(4214, LogLevel.Error, "Could not cut {Path} back after a failed append; no more file records are persisted until restart")]
    public static partial void RecordLogCutBackFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(4215, LogLevel.Information, "Compacted the file record log {Path} from {Before} to {After} bytes ({Entries} live entries)")]
    public static partial void RecordLogCompacted(this ILogger logger, string path, long before, long after, int entries);

    [LoggerMessage(4216, LogLevel.Warning, "Could not compact the file record log {Path}; it keeps growing until the next attempt")]
    public static partial void RecordLogCompactionFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(4217, LogLevel.Error, "Could not reopen {Path} after compaction; no more file records are persisted until restart")]
    public static partial void RecordLogReopenFailed(this ILogger logger, string path);

    [LoggerMessage(4220, LogLevel.Warning, "Cut {Bytes} damaged bytes off the end of {Path} (an append that did not finish).")]
    public static partial void DeleteNonceLogTailCut(this ILogger logger, long bytes, string path);
}
