using System.Diagnostics.Tracing;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// Counts the runtime's allocation samples (GCAllocationTick: one per ~100 KB allocated) by type while it is alive:
/// where the bytes of <c>ratios --loop X --allocations</c> go, without a profiler.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly Dictionary<string, int> _samples = [];

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is not { } payload) return;
        int i = eventData.PayloadNames?.IndexOf("TypeName") ?? -1;
        string type = i >= 0 ? payload[i]?.ToString() ?? "?" : "?";
        lock (_samples) _samples[type] = _samples.GetValueOrDefault(type) + 1;
    }

    /// <summary>Prints the <paramref name="top"/> types with the most samples.</summary>
    public void Print(int top = 30)
    {
        lock (_samples)
        {
            int all = _samples.Values.Sum();
            Console.WriteLine($"Allocation samples (about one per 100 KB): {all}");
            foreach (var (type, count) in _samples.OrderByDescending(p => p.Value).Take(top)) Console.WriteLine($"{count,7} {count * 100.0 / Math.Max(1, all),5:F1} %  {type}");
        }
    }
}
