using System.Diagnostics.Metrics;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>Lookup figures on the <c>ZenTalk.MeshStorage</c> meter.</summary>
internal static class DhtMetrics
{
    private static readonly Meter Meter = Rpc.RpcMetrics.Meter;

    public static readonly Counter<long> Lookups = Meter.CreateCounter<long>("zentalk.mesh.dht.lookups", "{lookup}", "Iterative lookups run");

    public static readonly Counter<long> PartialLookups = Meter.CreateCounter<long>("zentalk.mesh.dht.lookups_partial", "{lookup}", "Lookups that hit their deadline and returned partial results");

    public static readonly Histogram<int> Rounds = Meter.CreateHistogram<int>("zentalk.mesh.dht.lookup_rounds", "{round}", "Longest chain of sequential requests per lookup");

    public static readonly Histogram<int> Requests = Meter.CreateHistogram<int>("zentalk.mesh.dht.lookup_requests", "{request}", "Requests sent per lookup");
}
