namespace ZenTalk.Storage;

/// <summary>
/// Conversation summaries, kept up to date by the store as messages are saved: read, list (pinned first, then by
/// activity), mark read, pin, mute, archive.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IConversationRepository
{
    /// <summary>Gets a conversation summary.</summary>
    /// <param name="conversationId">The conversation id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The conversation, or <see langword="null"/> if no message of it was ever saved.</returns>
    Task<Conversation?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default);

    /// <summary>Lists conversations pinned first, then by last activity (newest first), keyset-paged.</summary>
    /// <param name="archived"><see langword="false"/> for the main list, <see langword="true"/> for the archive.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    /// <param name="cursor">The previous page's <see cref="Page{T}.NextCursor"/>, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The page.</returns>
    Task<Page<Conversation>> ListConversationsAsync(bool archived = false, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default);

    /// <summary>Marks incoming messages read, all of them or those up to and including a given message.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="upToMessageId">The newest message to mark, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>How many messages changed to <see cref="MessageStatus.Read"/>.</returns>
    Task<int> MarkConversationReadAsync(string conversationId, string? upToMessageId = null, CancellationToken cancellationToken = default);

    /// <summary>Pins or unpins a conversation.</summary>
    /// <param name="conversationId">The conversation id.</param>
    /// <param name="pinned">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the conversation is unknown.</returns>
    Task<bool> SetConversationPinnedAsync(string conversationId, bool pinned, CancellationToken cancellationToken = default);

    /// <summary>Mutes or unmutes a conversation.</summary>
    /// <param name="conversationId">The conversation id.</param>
    /// <param name="muted">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the conversation is unknown.</returns>
    Task<bool> SetConversationMutedAsync(string conversationId, bool muted, CancellationToken cancellationToken = default);

    /// <summary>Archives or unarchives a conversation.</summary>
    /// <param name="conversationId">The conversation id.</param>
    /// <param name="archived">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the conversation is unknown.</returns>
    Task<bool> SetConversationArchivedAsync(string conversationId, bool archived, CancellationToken cancellationToken = default);
}
