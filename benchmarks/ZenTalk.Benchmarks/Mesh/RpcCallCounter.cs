using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// Counts the requests this process sends (<c>zentalk.mesh.rpc.calls_sent</c>, by kind) and the shard bytes it receives
/// (<c>zentalk.mesh.shard_bytes_received</c>) while it is alive: what one operation of <c>ratios --loop X</c> asks of the
/// holders, next to its CPU.
/// </summary>
internal sealed class RpcCallCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _calls = new();
    private long _shardBytes;

    public RpcCallCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "zentalk.mesh.rpc.calls_sent" or "zentalk.mesh.shard_bytes_received") listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "zentalk.mesh.shard_bytes_received")
            {
                Interlocked.Add(ref _shardBytes, value);
                return;
            }

            foreach (var tag in tags)
                if (tag.Key == "kind") _calls.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
        });
        _listener.Start();
    }

    /// <summary>Prints the calls by kind and the shard bytes, each per operation.</summary>
    public void Print(int operations)
    {
        var calls = string.Join(", ", _calls.OrderByDescending(c => c.Value).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {c.Value / (double)operations:F1}")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Per operation: requests sent: {(calls.Length == 0 ? "none" : calls)}; shard bytes received {Interlocked.Read(ref _shardBytes) / (double)operations / (1 << 20):F2} MiB."));
    }

    public void Dispose() => _listener.Dispose();
}
