namespace ZenTalk.Storage;

/// <summary>
/// Enqueuing the envelope would exceed the per-recipient relay quota (item count or bytes, see
/// <see cref="MessageStoreOptions.RelayMaxItemsPerRecipient"/> and
/// <see cref="MessageStoreOptions.RelayMaxBytesPerRecipient"/>). Nothing was enqueued.
/// </summary>
public class RelayQueueQuotaExceededException : MessageStoreException
{
    /// <summary>Creates the exception for <paramref name="recipientId"/>.</summary>
    /// <param name="recipientId">The recipient whose queue is full.</param>
    /// <param name="message">What limit was hit and what to do.</param>
    public RelayQueueQuotaExceededException(string recipientId, string message) : base(message)
    {
        RecipientId = recipientId;
    }

    /// <summary>The recipient whose queue is full.</summary>
    public string RecipientId { get; }
}
