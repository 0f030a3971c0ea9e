namespace ZenTalk.MeshStorage.Dht.Simulation;

/// <summary>How the simulated wire behaves.</summary>
internal sealed class SimulatedNetworkOptions
{
    /// <summary>One-way delay of every message (0 = deliver at once, for large runs).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Extra random delay up to this much per message.</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Fraction of requests lost (the caller sees a timeout).</summary>
    public double LossRate { get; init; }

    /// <summary>Serialize every request and response to bytes and back, as the wire would (catches messages that do not survive encoding).</summary>
    public bool Serialize { get; init; } = true;

    /// <summary>Seed of the loss and jitter random numbers (reproducible runs).</summary>
    public int Seed { get; init; } = 1;
}
