using System.Net;
using ZenTalk.MeshStorage;

namespace ZenTalk.StorageNode;

/// <summary>
/// The storage node's own log events (source-generated, event ids 7000-7099): 7000s lifecycle, 7010s the API guard,
/// 7020s the REST API. The mesh's events keep their ranges (docs/architecture.md).
/// </summary>
internal static partial class NodeLog
{
    [LoggerMessage(7000, LogLevel.Information, "Created {Path} (mode 0600)")]
    public static partial void Created(this ILogger logger, string path);

    [LoggerMessage(7001, LogLevel.Information, "ZenTalk storage node {NodeId}: mesh {MeshEndpoint} (bootstrap others with {Bootstrap}), REST API {RestApi}, data {DataDirectory}, configuration {Config}")]
    public static partial void Started(this ILogger logger, NodeId nodeId, string meshEndpoint, string bootstrap, Uri restApi, string dataDirectory, string config);

    [LoggerMessage(7002, LogLevel.Information, "Stopped")]
    public static partial void Stopped(this ILogger logger);

    [LoggerMessage(7003, LogLevel.Warning, "The REST API listens on {Address}, not on loopback: it has no TLS. Put a TLS-terminating proxy in front of it (docs/rest-api.md).")]
    public static partial void ApiNotOnLoopback(this ILogger logger, string address);

    [LoggerMessage(7004, LogLevel.Warning, "Mesh port {Port} is in the range the system picks outgoing ports from (32768-60999 on Linux); a restart may find it taken. Choose one below 32768.")]
    public static partial void EphemeralMeshPort(this ILogger logger, int port);

    [LoggerMessage(7010, LogLevel.Warning, "Refused {Method} {Path} for Host '{Host}' from {Remote}: not in the allow-list")]
    public static partial void HostRefused(this ILogger logger, string method, PathString path, string host, IPAddress? remote);

    [LoggerMessage(7011, LogLevel.Warning, "Refused a cross-origin {Method} {Path} (Origin '{Origin}', Sec-Fetch-Site '{Site}')")]
    public static partial void CrossOriginRefused(this ILogger logger, string method, PathString path, string origin, string site);

    [LoggerMessage(7020, LogLevel.Warning, "Upload refused: {Reason}")]
    public static partial void UploadRefused(this ILogger logger, string reason);

    [LoggerMessage(7021, LogLevel.Warning, "Download of {Cid} unavailable: {Reason}")]
    public static partial void DownloadUnavailable(this ILogger logger, string cid, string reason);

    [LoggerMessage(7022, LogLevel.Warning, "Download broke off ({Reason}); aborting the response")]
    public static partial void DownloadBrokeOff(this ILogger logger, string reason);
}
