namespace ZenTalk.Storage;

/// <summary>
/// The attachments of a conversation's messages, for a media view.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IAttachmentRepository
{
    /// <summary>Lists every attachment of a conversation's messages, newest message first.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The attachments with the messages that carried them.</returns>
    Task<IReadOnlyList<ConversationAttachment>> GetConversationAttachmentsAsync(string conversationId, CancellationToken cancellationToken = default);
}
