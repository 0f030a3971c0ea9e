using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage;

/// <summary>
/// The node's log messages (source-generated). Event ids by area: 1000-1999 the node (this file), 2000-2999 Rpc,
/// 3000-3999 Dht, 4000-4999 Distributed, 5000-5999 Shards; the Sdk's are 6000-6999.
/// </summary>
internal static partial class MeshNodeLog
{
    [LoggerMessage(1000, LogLevel.Information, "Mesh node {Id} listening on {Endpoint} ({Role}, {Network})")]
    public static partial void Listening(this ILogger logger, NodeId id, string endpoint, string role, string network);

    [LoggerMessage(1001, LogLevel.Information, "Mesh node {Id} stopped")]
    public static partial void Stopped(this ILogger logger, NodeId id);

    [LoggerMessage(1002, LogLevel.Debug, "Not serving the stored record {Key}: {Reason}")]
    public static partial void StoredRecordRefused(this ILogger logger, object key, string reason);

    [LoggerMessage(1003, LogLevel.Warning, "None of the {Count} bootstrap peers answered; the node tries them again while it knows no peer")]
    public static partial void NoBootstrapPeerAnswered(this ILogger logger, int count);

    [LoggerMessage(1004, LogLevel.Information, "Joined the mesh through {Reached} bootstrap peers")]
    public static partial void Rejoined(this ILogger logger, int reached);

    [LoggerMessage(1005, LogLevel.Debug, "Bootstrap peers still unreachable: {Reason}")]
    public static partial void BootstrapStillUnreachable(this ILogger logger, string reason);

    [LoggerMessage(1007, LogLevel.Information, "The join's lookups did not finish within {Waited}: the node starts now and goes on joining in the background")]
    public static partial void JoinGoesOn(this ILogger logger, TimeSpan waited);

    [LoggerMessage(1006, LogLevel.Error, "The repair loop of {Id} had failed")]
    public static partial void RepairLoopFailed(this ILogger logger, Exception exception, NodeId id);
}
