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

    [LoggerMessage(6100, LogLevel.Information, "Sent {FileName} ({Size} bytes) inline in message {MessageId}")]
    public static partial void SentInline(this ILogger logger, string fileName, long size, string messageId);

    [LoggerMessage(6101, LogLevel.Warning, "Saving the message for upload {Cid} failed; deleting the upload")]
    public static partial void SaveFailed(this ILogger logger, Exception exception, Cid cid);

    [LoggerMessage(6102, LogLevel.Information, "Sent {FileName} ({Size} bytes) as {Cid} in message {MessageId}")]
    public static partial void SentUploaded(this ILogger logger, string fileName, long size, Cid cid, string messageId);

    [LoggerMessage(6103, LogLevel.Information, "Deleted upload {Cid} after the send failed")]
    public static partial void UploadRolledBack(this ILogger logger, Cid cid);

    [LoggerMessage(6104, LogLevel.Error, "Could not delete upload {Cid} after the send failed; delete it with the owner key later")]
    public static partial void UploadOrphaned(this ILogger logger, Exception exception, Cid cid);
}
