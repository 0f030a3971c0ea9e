namespace ZenTalk.Storage;

/// <summary>An attachment together with the message that carried it, as listed for a conversation's media view.</summary>
/// <param name="MessageId">The message that carried the attachment.</param>
/// <param name="SenderId">Who sent it.</param>
/// <param name="SentAt">When the message was sent.</param>
/// <param name="Attachment">The media reference.</param>
public sealed record ConversationAttachment(string MessageId, string SenderId, DateTimeOffset SentAt, Attachment Attachment);
