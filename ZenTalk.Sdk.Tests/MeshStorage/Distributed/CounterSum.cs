using System.Diagnostics.Metrics;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Sums what one of the mesh's counters (by instrument name) records while this is alive.</summary>
internal sealed class CounterSum : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterSum(string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == instrumentName) l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    /// <summary>The sum so far.</summary>
    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
