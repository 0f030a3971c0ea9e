namespace ZenTalk.Storage;

/// <summary>An attachment together with the message that carried it, as listed for a conversation's media view.</summary>
public sealed record ConversationAttachment
{
    /// <summary>The message that carried the attachment.</summary>
    public required string MessageId { get; init; }

    /// <summary>Who sent it.</summary>
    public required string SenderId { get; init; }

    /// <summary>When the message was sent.</summary>
    public DateTimeOffset SentAt { get; init; }

    /// <summary>The attachment (a mesh reference or inline content).</summary>
    public required Attachment Attachment { get; init; }
}
