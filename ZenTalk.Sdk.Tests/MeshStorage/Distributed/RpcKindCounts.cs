using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// Counts one RPC counter of the mesh meter (<c>zentalk.mesh.rpc.requests_served</c> by default) by its request kind,
/// from its creation to its disposal. The meter is process-wide: every node of a test's mesh counts.
/// </summary>
internal sealed class RpcKindCounts : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public RpcKindCounts(string instrument = "zentalk.mesh.rpc.requests_served")
    {
        _listener.InstrumentPublished = (published, l) =>
        {
            if (published.Name == instrument) l.EnableMeasurementEvents(published);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "kind") _counts.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
        });
        _listener.Start();
    }

    /// <summary>How many of <paramref name="kind"/> (a <c>Request.KindOneofCase</c> name, e.g. "GetShard") were counted.</summary>
    public long this[string kind] => _counts.GetValueOrDefault(kind);

    /// <summary>Starts counting from zero again.</summary>
    public void Clear() => _counts.Clear();

    public void Dispose() => _listener.Dispose();
}
