using System.Diagnostics.Metrics;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>Counters of the RPC layer on the <c>ZenTalk.MeshStorage</c> meter (dotnet-counters, OpenTelemetry).</summary>
internal static class RpcMetrics
{
    public static readonly Meter Meter = new(MeshStorageTelemetry.MeterName, MeshStorageTelemetry.Version);

    /// <summary>Calls this node made, tagged by request kind.</summary>
    public static readonly Counter<long> CallsSent = Meter.CreateCounter<long>("zentalk.mesh.rpc.calls_sent", "{call}", "Requests sent to peers");

    /// <summary>Calls that ended without an OK answer (timeout, broken connection, error status).</summary>
    public static readonly Counter<long> CallsFailed = Meter.CreateCounter<long>("zentalk.mesh.rpc.calls_failed", "{call}", "Requests to peers that failed");

    /// <summary>Requests this node served.</summary>
    public static readonly Counter<long> RequestsServed = Meter.CreateCounter<long>("zentalk.mesh.rpc.requests_served", "{request}", "Requests handled for peers");

    /// <summary>Connections dropped because the peer broke the protocol or a timeout.</summary>
    public static readonly Counter<long> PeersDropped = Meter.CreateCounter<long>("zentalk.mesh.rpc.peers_dropped", "{connection}", "Connections closed for a protocol violation or timeout");

    /// <summary>Inbound connections refused on accept by a connection limit.</summary>
    public static readonly Counter<long> ConnectionsRefused = Meter.CreateCounter<long>("zentalk.mesh.rpc.connections_refused", "{connection}", "Inbound connections refused by a limit");

    /// <summary>Idle inbound connections closed to make room for a newcomer in a full connection table.</summary>
    public static readonly Counter<long> ConnectionsEvicted = Meter.CreateCounter<long>("zentalk.mesh.rpc.connections_evicted", "{connection}", "Idle inbound connections closed to make room");

    /// <summary>Call duration in milliseconds.</summary>
    public static readonly Histogram<double> CallDuration = Meter.CreateHistogram<double>("zentalk.mesh.rpc.call_duration", "ms", "Duration of calls to peers");
}
