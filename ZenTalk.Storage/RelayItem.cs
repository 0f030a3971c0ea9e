namespace ZenTalk.Storage;

/// <summary>A leased relay-queue envelope: deliver it, then acknowledge or fail it before the lease ends.</summary>
public sealed record RelayItem
{
    /// <summary>The envelope's unique id (as given to <see cref="IRelayQueue.EnqueueRelayAsync"/>).</summary>
    public required string EnvelopeId { get; init; }

    /// <summary>Who the envelope is for.</summary>
    public required string RecipientId { get; init; }

    /// <summary>The envelope bytes, as enqueued.</summary>
    public required byte[] Envelope { get; init; }

    /// <summary>How many delivery attempts have failed so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When it was enqueued.</summary>
    public DateTimeOffset EnqueuedAt { get; init; }

    /// <summary>When it expires (enqueue time plus time to live).</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Until when it is invisible to other leasers.</summary>
    public DateTimeOffset LeasedUntil { get; init; }
}
