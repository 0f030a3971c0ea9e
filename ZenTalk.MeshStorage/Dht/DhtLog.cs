using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>The DHT's log messages (source-generated), event ids 3000-3999 (ranges in MeshNodeLog).</summary>
internal static partial class DhtLog
{
    [LoggerMessage(3000, LogLevel.Debug, "Caller {Peer} did not answer at the address it claimed; not added to the routing table")]
    public static partial void CallerDidNotAnswer(this ILogger logger, object peer);

    [LoggerMessage(3001, LogLevel.Debug, "Not keeping record {Key} here: {Reason}")]
    public static partial void RecordRefused(this ILogger logger, object key, string reason);

    [LoggerMessage(3002, LogLevel.Information, "Bootstrap peer {Peer} unreachable: {Reason}")]
    public static partial void BootstrapPeerUnreachable(this ILogger logger, object peer, string reason);

    [LoggerMessage(3003, LogLevel.Warning, "DHT maintenance pass failed; retrying next interval")]
    public static partial void MaintenanceFailed(this ILogger logger, Exception exception);

    [LoggerMessage(3100, LogLevel.Warning, "mDNS announcements on {Interface} stopped")]
    public static partial void MdnsAnnouncementsStopped(this ILogger logger, Exception exception, object @interface);

    [LoggerMessage(3101, LogLevel.Debug, "mDNS receive failed")]
    public static partial void MdnsReceiveFailed(this ILogger logger, Exception exception);

    [LoggerMessage(3102, LogLevel.Debug, "Dropped a malformed mDNS datagram: {Reason}")]
    public static partial void MdnsMalformed(this ILogger logger, string reason);

    [LoggerMessage(3103, LogLevel.Debug, "Could not answer an mDNS query: {Reason}")]
    public static partial void MdnsAnswerFailed(this ILogger logger, string reason);
}
