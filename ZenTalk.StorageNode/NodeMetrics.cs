using System.Diagnostics.Metrics;

namespace ZenTalk.StorageNode;

/// <summary>
/// The node's own instruments on the <c>ZenTalk.StorageNode</c> meter, beside the mesh library's
/// (<c>ZenTalk.MeshStorage</c>); docs/rest-api.md lists the Prometheus families they become.
/// </summary>
internal static class NodeMetrics
{
    public const string MeterName = "ZenTalk.StorageNode";

    public static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> TransfersRefused = Meter.CreateCounter<long>("zentalk.node.transfers_refused", "{transfer}",
        "Uploads and downloads answered 503 because the transfer memory budget stayed full for the queue timeout");

    public static readonly Counter<long> Uploads = Meter.CreateCounter<long>("zentalk.node.uploads", "{file}", "Files stored through POST /upload");

    public static readonly Counter<long> Downloads = Meter.CreateCounter<long>("zentalk.node.downloads", "{file}", "Files streamed by GET /download");

    /// <summary>Gauges read from the running node each time the metrics are collected.</summary>
    public static void Observe(NodeState state)
    {
        // Counters are exported from their first measurement: start them at 0 so that every family is there at once.
        TransfersRefused.Add(0);
        Uploads.Add(0);
        Downloads.Add(0);
        Meter.CreateObservableGauge("zentalk.node.transfers_in_flight", () => state.Budget.InFlight, "{transfer}", "Uploads and downloads holding a slot of the memory budget");
        Meter.CreateObservableGauge("zentalk.node.transfers_waiting", () => state.Budget.Waiting, "{transfer}", "Requests waiting for a slot of the memory budget");
        Meter.CreateObservableGauge("zentalk.node.transfer_budget", () => state.Budget.BudgetBytes, "By", "The memory budget for transfers in flight");
        Meter.CreateObservableGauge("zentalk.node.peers", () => state.Node.Network.Dht.Table.Count, "{peer}", "Peers in the routing table");
        Meter.CreateObservableGauge("zentalk.node.stored", () => state.Stats().StoredBytes, "By", "Shard bytes this node stores for the mesh");
        Meter.CreateObservableGauge("zentalk.node.shards", () => state.Stats().ShardCount, "{shard}", "Shards this node stores for the mesh");
        Meter.CreateObservableGauge("zentalk.node.quota", () => state.Stats().QuotaBytes, "By", "The most shard bytes this node stores for the mesh (Mesh:QuotaBytes)");
        Meter.CreateObservableGauge("zentalk.node.files", () => state.FileCount, "{file}", "Files this node holds records of");
        Meter.CreateObservableGauge("zentalk.node.segments_lost", () => state.LastRepair?.Report.SegmentsLost ?? 0, "{segment}",
            "Segments the last repair pass found lost (fewer than k valid shards at every node that may hold them)");
        Meter.CreateObservableGauge("zentalk.node.segments_unreachable", () => state.LastRepair?.Report.SegmentsUnreachable ?? 0, "{segment}",
            "Segments the last repair pass could not read because some of their holders did not answer");
    }
}
