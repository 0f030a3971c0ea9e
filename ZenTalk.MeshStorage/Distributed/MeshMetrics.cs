using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>Counters and spans of the Distributed layer, on the shared <c>ZenTalk.MeshStorage</c> meter and activity source.</summary>
internal static class MeshMetrics
{
    private static readonly Meter Meter = Rpc.RpcMetrics.Meter;

    /// <summary>Spans for store, retrieve, delete and repair.</summary>
    public static readonly ActivitySource Activities = new(MeshStorageTelemetry.ActivitySourceName, MeshStorageTelemetry.Version);

    public static readonly Counter<long> BytesOut = Meter.CreateCounter<long>("zentalk.mesh.shard_bytes_sent", "By", "Shard bytes sent to holders (store and repair)");

    public static readonly Counter<long> BytesIn = Meter.CreateCounter<long>("zentalk.mesh.shard_bytes_received", "By", "Valid shard bytes fetched from holders");

    public static readonly Counter<long> ShardsRepaired = Meter.CreateCounter<long>("zentalk.mesh.shards_repaired", "{shard}", "Shards rebuilt and placed again by repair");

    public static readonly Counter<long> ShardsRejected = Meter.CreateCounter<long>("zentalk.mesh.shards_rejected", "{shard}", "Shards a holder returned that failed their hash check");

    /// <summary>Segments read by their sole key holder (<see cref="RetrieveOptions.SoleKeyHolder"/>) whose tag failed, read again with every shard checked.</summary>
    public static readonly Counter<long> SegmentsVerifiedAgain = Meter.CreateCounter<long>("zentalk.mesh.segments_verified_again", "{segment}", "Segments whose tag failed on a sole key holder's read, read again with every shard hash-checked");

    public static readonly Counter<long> FilesStored = Meter.CreateCounter<long>("zentalk.mesh.files_stored", "{file}", "Files stored by this node");

    public static readonly Counter<long> FilesDeleted = Meter.CreateCounter<long>("zentalk.mesh.files_deleted", "{file}", "Files deleted by their owner through this node");

    public static readonly Counter<long> ShardsDropped = Meter.CreateCounter<long>("zentalk.mesh.shards_dropped", "{shard}", "Shards this node dropped because their file was deleted or expired");
}
