namespace ZenTalk.Storage;

/// <summary>
/// A conversation summary, kept up to date by the store as messages are saved, edited, read and deleted.
/// </summary>
public sealed record Conversation
{
    /// <summary>The conversation id (as used in <see cref="Message.ConversationId"/>).</summary>
    public required string ConversationId { get; init; }

    /// <summary>When the store first saw a message of this conversation.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The newest message that is not deleted, or <see langword="null"/> when there is none.</summary>
    public string? LastMessageId { get; init; }

    /// <summary>The start of the newest message's body (at most 120 characters), for the conversation list.</summary>
    public string? LastMessagePreview { get; init; }

    /// <summary>The sender of the newest message.</summary>
    public string? LastSenderId { get; init; }

    /// <summary>When the newest message was sent.</summary>
    public DateTimeOffset? LastMessageAt { get; init; }

    /// <summary>The send time of the newest message ever saved (deletions do not move it back); the list order.</summary>
    public DateTimeOffset LastActivityAt { get; init; }

    /// <summary>Incoming messages not yet read (deleted ones and ones from blocked contacts do not count).</summary>
    public int UnreadCount { get; init; }

    /// <summary>Pinned conversations come first in <see cref="IConversationRepository.ListConversationsAsync"/>.</summary>
    public bool IsPinned { get; init; }

    /// <summary>Whether notifications are muted (stored for the UI; the store does not act on it).</summary>
    public bool IsMuted { get; init; }

    /// <summary>Archived conversations are listed separately.</summary>
    public bool IsArchived { get; init; }
}
