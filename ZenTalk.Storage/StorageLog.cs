using Microsoft.Extensions.Logging;

namespace ZenTalk.Storage;

/// <summary>The store's log messages, generated at build time (no formatting cost when the level is off), with stable event ids.</summary>
internal static partial class StorageLog
{
    [LoggerMessage(EventId = 1, EventName = "SchemaUpgraded", Level = LogLevel.Information,
        Message = "Message store {Path} upgraded from schema version {From} to {To}")]
    public static partial void SchemaUpgraded(this ILogger logger, string path, int from, int to);

    [LoggerMessage(EventId = 2, EventName = "BackedUp", Level = LogLevel.Information,
        Message = "Message store backed up ({Bytes} bytes of database)")]
    public static partial void BackedUp(this ILogger logger, long bytes);

    [LoggerMessage(EventId = 3, EventName = "IndexOnCloseFailed", Level = LogLevel.Warning,
        Message = "Could not index the last saved messages on close; the next open will")]
    public static partial void IndexOnCloseFailed(this ILogger logger, Exception exception);
}
