using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk;

/// <summary>The Sdk's log messages (source-generated), event ids 6000-6999: 6000-6099 backups, 6100-6199 attachments.</summary>
internal static partial class SdkLog
{
    [LoggerMessage(6000, LogLevel.Information, "Message store backed up to the mesh as {Cid} ({Size} bytes)")]
    public static partial void BackedUp(this ILogger logger, Cid cid, long size);

    [LoggerMessage(6001, LogLevel.Warning, "Could not remove the backup's private temporary directory {Directory}")]
    public static partial void TemporaryDirectoryLeft(this ILogger logger, Exception exception, string directory);

    [LoggerMessage(6002, LogLevel.Information, "Message store restored from {Cid} to {Path}")]
    public static partial void Restored(this ILogger logger, Cid cid, string path);
}
