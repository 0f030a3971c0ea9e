namespace ZenTalk.MeshStorage;

/// <summary>
/// The names to subscribe to for the package's metrics and traces, e.g. with OpenTelemetry:
/// <c>metrics.AddMeter(MeshStorageTelemetry.MeterName)</c> and <c>tracing.AddSource(MeshStorageTelemetry.ActivitySourceName)</c>.
/// </summary>
/// <remarks>
/// The instruments are counters and histograms named <c>zentalk.mesh.*</c> (shard bytes sent and received, files
/// stored and deleted, shards repaired, rejected and dropped, RPC calls and their duration, DHT lookups); the
/// activities are <c>mesh.store</c>, <c>mesh.retrieve</c>, <c>mesh.status</c>, <c>mesh.delete</c> and
/// <c>mesh.repair</c>. docs/architecture.md ("Metrics and traces") lists them all.
/// </remarks>
public static class MeshStorageTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> every mesh instrument belongs to.</summary>
    public const string MeterName = "ZenTalk.MeshStorage";

    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> of the mesh's traces.</summary>
    public const string ActivitySourceName = "ZenTalk.MeshStorage";

    /// <summary>The version both report.</summary>
    internal const string Version = "1.0";
}
