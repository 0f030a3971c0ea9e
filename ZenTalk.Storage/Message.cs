namespace ZenTalk.Storage;

/// <summary>
/// A chat message. Build one with the sender's fields and pass it to <see cref="IMessageRepository.SaveMessageAsync"/>;
/// messages read back also carry the store-managed fields (<see cref="EditedAt"/>, <see cref="DeletedAt"/>,
/// <see cref="IsFromBlockedContact"/>), which are ignored on save.
/// </summary>
/// <remarks>
/// Times are stored with millisecond precision, as UTC. <see cref="SentAt"/> must lie between 1970-01-01 and
/// 2200-01-01 (it is part of the store's ordering key).
/// </remarks>
public sealed record Message
{
    /// <summary>The sender's globally unique id for this message; saving the same id again is a no-op.</summary>
    public required string MessageId { get; init; }

    /// <summary>The conversation the message belongs to; the conversation is created on its first message.</summary>
    public required string ConversationId { get; init; }

    /// <summary>The id of the sender (a contact id, or the local user's own id for outgoing messages).</summary>
    public required string SenderId { get; init; }

    /// <summary>When the sender sent it; conversations are ordered by this time, newest first.</summary>
    public required DateTimeOffset SentAt { get; init; }

    /// <summary>
    /// Who the message is addressed to: one contact for a direct message, several for a group message, in the
    /// sender's order. Ids must not be empty or repeated. Default: none (the conversation alone addresses it).
    /// </summary>
    public IReadOnlyList<string> RecipientIds { get; init; } = [];

    /// <summary>When this device received it (incoming messages); <see langword="null"/> for outgoing ones.</summary>
    public DateTimeOffset? ReceivedAt { get; init; }

    /// <summary>The text of the message (may be empty, e.g. for an attachment-only message). Default: empty.</summary>
    public string Body { get; init; } = "";

    /// <summary>The MIME type of <see cref="Body"/>. Default: <c>text/plain</c>.</summary>
    public string ContentType { get; init; } = "text/plain";

    /// <summary>The delivery state. Default: <see cref="MessageStatus.Sending"/>.</summary>
    public MessageStatus Status { get; init; } = MessageStatus.Sending;

    /// <summary>Outgoing or incoming. Default: <see cref="MessageDirection.Outgoing"/>.</summary>
    public MessageDirection Direction { get; init; } = MessageDirection.Outgoing;

    /// <summary>The <see cref="MessageId"/> this message replies to, if any (it need not be stored yet).</summary>
    public string? ReplyToMessageId { get; init; }

    /// <summary>Media references (mesh CID, content key, metadata) sent with the message. Default: none.</summary>
    public IReadOnlyList<Attachment> Attachments { get; init; } = [];

    /// <summary>When the body was last edited; set by <see cref="IMessageRepository.EditMessageAsync"/>.</summary>
    public DateTimeOffset? EditedAt { get; init; }

    /// <summary>
    /// When the message was deleted; set by <see cref="IMessageRepository.DeleteMessageAsync"/>. A deleted message is a
    /// tombstone: ids, conversation, sender and times are kept for sync, body and attachments are gone.
    /// </summary>
    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>Whether the message is a deletion tombstone.</summary>
    public bool IsDeleted => DeletedAt is not null;

    /// <summary>
    /// Whether the message is incoming from a contact that was blocked when it arrived, so a UI can hide it.
    /// Such messages do not count as unread.
    /// </summary>
    public bool IsFromBlockedContact { get; init; }
}
