using System.Diagnostics.Metrics;

namespace ZenTalk.Storage;

/// <summary>The store's counters, published on the <c>ZenTalk.Storage</c> meter.</summary>
internal static class StorageMetrics
{
    public static readonly Meter Meter = new("ZenTalk.Storage");

    public static readonly Counter<long> MessagesSaved =
        Meter.CreateCounter<long>("zentalk.storage.messages_saved", unit: "{message}", description: "Messages newly stored.");

    public static readonly Counter<long> RelayEnqueued =
        Meter.CreateCounter<long>("zentalk.storage.relay_enqueued", unit: "{envelope}", description: "Envelopes added to the relay queue.");

    public static readonly Counter<long> RelayDeadLettered =
        Meter.CreateCounter<long>("zentalk.storage.relay_dead_lettered", unit: "{envelope}", description: "Envelopes that reached the maximum attempts.");
}
