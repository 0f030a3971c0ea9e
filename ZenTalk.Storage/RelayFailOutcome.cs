namespace ZenTalk.Storage;

/// <summary>What <see cref="IRelayQueue.FailRelayAsync"/> did with the envelope.</summary>
public enum RelayFailOutcome
{
    /// <summary>No pending envelope has that id (already acknowledged, purged or dead-lettered).</summary>
    NotFound = 0,

    /// <summary>The attempt count was raised and the envelope will be due again after a backoff.</summary>
    Rescheduled = 1,

    /// <summary>The envelope reached the maximum number of attempts and was moved to the dead letters.</summary>
    DeadLettered = 2,
}
