using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using ZenTalk.MeshStorage;

namespace ZenTalk.Testnet.Hosts;

/// <summary>
/// The mesh's own figures in this process, from its public meter (<c>ZenTalk.MeshStorage</c>): RPC calls sent per kind,
/// failed calls, lookups and their rounds, refused inbound connections, shard bytes. Counters are summed; histograms
/// give a count, a sum and a maximum (name.count, name.sum, name.max). Calls and their durations are also kept per kind
/// ("zentalk.mesh.rpc.calls_sent/FindNode", "zentalk.mesh.rpc.call_duration/PutShard.sum").
/// </summary>
internal sealed class MeshCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, double> _values = new();

    public MeshCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeshStorageTelemetry.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (instrument is Histogram<int> or Histogram<double> or Histogram<long>)
        {
            RecordHistogram(instrument.Name, value);
            foreach (var tag in tags)
                if (tag.Key == "kind") RecordHistogram(instrument.Name + "/" + tag.Value, value);
            return;
        }
        _values.AddOrUpdate(instrument.Name, value, (_, s) => s + value);
        foreach (var tag in tags)
        {
            if (tag.Key == "kind")
            {
                string key = instrument.Name + "/" + tag.Value;
                _values.AddOrUpdate(key, value, (_, s) => s + value);
            }
        }
    }

    private void RecordHistogram(string name, double value)
    {
        _values.AddOrUpdate(name + ".count", 1, (_, c) => c + 1);
        _values.AddOrUpdate(name + ".sum", value, (_, s) => s + value);
        _values.AddOrUpdate(name + ".max", value, (_, m) => Math.Max(m, value));
    }

    public Dictionary<string, double> Snapshot() => new(_values);

    /// <summary>What the sums and counts gained between two snapshots, as JSON (maxima are left out: they span the whole run).</summary>
    public static JsonObject Delta(Dictionary<string, double> before, Dictionary<string, double> after)
    {
        var delta = new JsonObject();
        foreach (var (key, value) in after.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key.EndsWith(".max", StringComparison.Ordinal)) continue;
            double d = value - before.GetValueOrDefault(key);
            if (d != 0) delta[key] = d;
        }
        return delta;
    }

    public void Dispose() => _listener.Dispose();
}
