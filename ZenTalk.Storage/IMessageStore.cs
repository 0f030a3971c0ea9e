namespace ZenTalk.Storage;

/// <summary>
/// A device's message store: messages, media references, contacts, conversations, settings, the relay queue for pending
/// deliveries, full-text search and backup. Safe to use from many threads at once; writes are serialized inside
/// the store, so callers never see database lock errors.
/// </summary>
/// <remarks>
/// Every method validates its arguments (<see cref="ArgumentException"/> naming the parameter) before touching
/// the database, and reports storage failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IMessageStore : ISettingsStore, IAsyncDisposable
{
    // ---- Messages -------------------------------------------------------------------------------------------

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

    // ---- Attachments ----------------------------------------------------------------------------------------

    /// <summary>Lists every attachment of a conversation's messages, newest message first.</summary>
    /// <param name="conversationId">The conversation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The attachments with the messages that carried them.</returns>
    Task<IReadOnlyList<ConversationAttachment>> GetConversationAttachmentsAsync(string conversationId, CancellationToken cancellationToken = default);

    // ---- Contacts -------------------------------------------------------------------------------------------

    /// <summary>Adds a contact or updates its name and key; the first-added time and flags are kept.</summary>
    /// <param name="contact">The contact (<see cref="Contact.ContactId"/>, <see cref="Contact.DisplayName"/>, <see cref="Contact.PublicKey"/>).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>The contact as stored.</returns>
    Task<Contact> UpsertContactAsync(Contact contact, CancellationToken cancellationToken = default);

    /// <summary>Gets a contact.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contact, or <see langword="null"/> if unknown.</returns>
    Task<Contact?> GetContactAsync(string contactId, CancellationToken cancellationToken = default);

    /// <summary>Lists contacts ordered by display name, optionally only those whose name contains a text.</summary>
    /// <param name="nameContains">Case-insensitive (ASCII) text to look for in the name, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching contacts.</returns>
    Task<IReadOnlyList<Contact>> ListContactsAsync(string? nameContains = null, CancellationToken cancellationToken = default);

    /// <summary>Blocks or unblocks a contact. Messages that arrive from a blocked contact are flagged.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="blocked">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> SetContactBlockedAsync(string contactId, bool blocked, CancellationToken cancellationToken = default);

    /// <summary>Marks or unmarks a contact as a favourite.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="favorite">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> SetContactFavoriteAsync(string contactId, bool favorite, CancellationToken cancellationToken = default);

    /// <summary>Deletes a contact (their messages stay).</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> DeleteContactAsync(string contactId, CancellationToken cancellationToken = default);

    // ---- Conversations --------------------------------------------------------------------------------------

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

    // ---- Relay queue ----------------------------------------------------------------------------------------

    /// <summary>Enqueues an envelope for later delivery to a recipient.</summary>
    /// <param name="envelopeId">A unique id; enqueuing the same id again is a no-op.</param>
    /// <param name="recipientId">Who the envelope is for.</param>
    /// <param name="envelope">The envelope bytes (not empty).</param>
    /// <param name="timeToLive">How long to keep trying (positive).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="true"/> if enqueued; <see langword="false"/> if the id was already present.</returns>
    /// <exception cref="RelayQueueQuotaExceededException">The recipient's item or byte quota would be exceeded.</exception>
    Task<bool> EnqueueRelayAsync(string envelopeId, string recipientId, ReadOnlyMemory<byte> envelope, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="maxItems"/> due envelopes, oldest due first. Until the lease ends they are
    /// invisible to other leasers; if neither acknowledged nor failed by then, they become due again.
    /// </summary>
    /// <param name="maxItems">The most envelopes to return, 1 to 10,000.</param>
    /// <param name="leaseDuration">How long the lease lasts (positive).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>The leased envelopes (possibly none).</returns>
    Task<IReadOnlyList<RelayItem>> LeaseRelayAsync(int maxItems, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Acknowledges delivery: removes the envelope.</summary>
    /// <param name="envelopeId">The envelope id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if no such envelope exists.</returns>
    Task<bool> AckRelayAsync(string envelopeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a failed delivery attempt: the envelope is due again after an exponential backoff with jitter
    /// (<see cref="MessageStoreOptions.RelayBaseRetryDelay"/> doubled per attempt, capped), or dead-lettered
    /// after <see cref="MessageStoreOptions.RelayMaxAttempts"/> attempts.
    /// </summary>
    /// <param name="envelopeId">The envelope id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>What happened to the envelope.</returns>
    Task<RelayFailOutcome> FailRelayAsync(string envelopeId, CancellationToken cancellationToken = default);

    /// <summary>Removes expired envelopes and dead letters.</summary>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>How many envelopes were removed.</returns>
    Task<int> PurgeExpiredRelayAsync(CancellationToken cancellationToken = default);

    /// <summary>Counts the relay queue, for everyone or one recipient.</summary>
    /// <param name="recipientId">The recipient, or <see langword="null"/> for the whole queue.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Count, bytes, oldest enqueue time and dead letters.</returns>
    Task<RelayQueueStats> GetRelayStatsAsync(string? recipientId = null, CancellationToken cancellationToken = default);

    // ---- Search ---------------------------------------------------------------------------------------------

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

    // ---- Backup ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes a consistent snapshot of the whole store to <paramref name="destination"/> while the store stays
    /// usable. The stream has a versioned header and a SHA-256 trailer; restore it with
    /// <see cref="SqliteMessageStore.RestoreAsync"/>.
    /// </summary>
    /// <param name="destination">A writable stream; it is not closed.</param>
    /// <param name="cancellationToken">Cancels the backup.</param>
    /// <returns>A task that completes when the snapshot is written.</returns>
    Task BackupAsync(Stream destination, CancellationToken cancellationToken = default);
}
