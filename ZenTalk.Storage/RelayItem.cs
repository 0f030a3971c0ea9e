namespace ZenTalk.Storage;

/// <summary>A leased relay-queue envelope: deliver it, then acknowledge or fail it before the lease ends.</summary>
/// <param name="EnvelopeId">The envelope's unique id (as given to <see cref="IMessageStore.EnqueueRelayAsync"/>).</param>
/// <param name="RecipientId">Who the envelope is for.</param>
/// <param name="Envelope">The envelope bytes, as enqueued.</param>
/// <param name="Attempts">How many delivery attempts have failed so far.</param>
/// <param name="EnqueuedAt">When it was enqueued.</param>
/// <param name="ExpiresAt">When it expires (enqueue time plus time to live).</param>
/// <param name="LeasedUntil">Until when it is invisible to other leasers.</param>
public sealed record RelayItem(
    string EnvelopeId,
    string RecipientId,
    byte[] Envelope,
    int Attempts,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset LeasedUntil);
