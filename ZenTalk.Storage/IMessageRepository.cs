namespace ZenTalk.Storage;

/// <summary>
/// A device's messages: save (one or a batch), read by id or page, move status forward, edit, soft-delete, count
/// unread, and full-text search.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IMessageRepository
{
    /// <summary>Saves a message (with its attachments) and updates its conversation, in one transaction.</summary>
    /// <param name="message">The message; store-managed fields are ignored.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if stored; <see langword="false"/> if a message with the same
    /// <see cref="Message.MessageId"/> already exists (the call is then a no-op).</returns>
    Task<bool> SaveMessageAsync(Message message, CancellationToken cancellationToken = default);

    /// <summary>Saves many messages in one transaction: all of them or, on error, none.</summary>
    /// <param name="messages">The messages; duplicates (in the store or within the batch) are skipped.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>How many messages were newly stored.</returns>
    Task<int> SaveMessagesAsync(IEnumerable<Message> messages, CancellationToken cancellationToken = default);

    /// <summary>Gets a message by the sender's message id, including tombstones.</summary>
    /// <param name="messageId">The <see cref="Message.MessageId"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The message, or <see langword="null"/> if unknown.</returns>
    Task<Message?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Pages a conversation newest first (by <see cref="Message.SentAt"/>), tombstones included.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    /// <param name="cursor">The previous page's <see cref="Page{T}.NextCursor"/>, or <see langword="null"/> for the newest page.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page; messages saved after the first page with newer times do not shift later pages.</returns>
    Task<Page<Message>> GetMessagesAsync(string conversationId, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default);

    /// <summary>Moves a message's status forward; a status that is not higher than the current one is ignored.</summary>
    /// <param name="messageId">The message.</param>
    /// <param name="status">The new status.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if the status changed.</returns>
    Task<bool> UpdateMessageStatusAsync(string messageId, MessageStatus status, CancellationToken cancellationToken = default);

    /// <summary>Replaces the body of a message that is not deleted, and records the edit time.</summary>
    /// <param name="messageId">The message.</param>
    /// <param name="newBody">The new text.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if edited; <see langword="false"/> if unknown or deleted.</returns>
    Task<bool> EditMessageAsync(string messageId, string newBody, CancellationToken cancellationToken = default);

    /// <summary>
    /// Soft-deletes a message: body and attachments are removed, a tombstone (ids, conversation, sender, times,
    /// deletion time) stays so the deletion can be synced.
    /// </summary>
    /// <param name="messageId">The message.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if deleted now; <see langword="false"/> if unknown or already deleted.</returns>
    Task<bool> DeleteMessageAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Counts unread incoming messages in one conversation, or in all of them.</summary>
    /// <param name="conversationId">The conversation, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The unread count.</returns>
    Task<int> CountUnreadAsync(string? conversationId = null, CancellationToken cancellationToken = default);


    /// <summary>
    /// Full-text search over message bodies, newest first. Every word of <paramref name="query"/> must occur
    /// (as a word or a word prefix); case and diacritics are ignored. Any string is a safe query: punctuation,
    /// quotes, emoji and search operators are treated as plain text.
    /// </summary>
    /// <param name="query">What to look for.</param>
    /// <param name="conversationId">Limit to one conversation, or <see langword="null"/> for all.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    /// <param name="cursor">The previous page's <see cref="Page{T}.NextCursor"/>, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching messages (an empty page if the query has no words).</returns>
    Task<Page<Message>> SearchMessagesAsync(string query, string? conversationId = null, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default);
}
