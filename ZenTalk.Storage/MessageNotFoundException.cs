namespace ZenTalk.Storage;

/// <summary>
/// No message with the given id is in the store (it was never saved here, or the store was restored from an older
/// backup). Nothing was changed.
/// </summary>
public class MessageNotFoundException : MessageStoreException
{
    /// <summary>Creates the exception for <paramref name="messageId"/>.</summary>
    /// <param name="messageId">The message id that was looked up.</param>
    public MessageNotFoundException(string messageId)
        : base($"No message '{messageId}' is in the message store. Check the id, or save the message first.")
    {
        MessageId = messageId;
    }

    /// <summary>The message id that was looked up.</summary>
    public string MessageId { get; }
}
