using ZenTalk.Storage;

namespace Backup;

/// <summary>Everything a user would miss after a restore, read through the public API, to compare two stores.</summary>
internal sealed record StoreSnapshot(
    IReadOnlyList<Message> Messages, IReadOnlyList<Contact> Contacts, IReadOnlyList<Conversation> Conversations,
    IReadOnlyList<ConversationAttachment> Attachments)
{
    public static async Task<StoreSnapshot> TakeAsync(IMessageStore store)
    {
        var conversations = new List<Conversation>();
        foreach (var archived in new[] { false, true })
        {
            string? cursor = null;
            do
            {
                var page = await store.ListConversationsAsync(archived, 1000, cursor);
                conversations.AddRange(page.Items);
                cursor = page.NextCursor;
            }
            while (cursor is not null);
        }
        var messages = new List<Message>();
        var attachments = new List<ConversationAttachment>();
        foreach (var conversation in conversations)
        {
            string? cursor = null;
            do
            {
                var page = await store.GetMessagesAsync(conversation.ConversationId, 1000, cursor);
                messages.AddRange(page.Items);
                cursor = page.NextCursor;
            }
            while (cursor is not null);
            attachments.AddRange(await store.GetConversationAttachmentsAsync(conversation.ConversationId));
        }
        return new StoreSnapshot(messages, await store.ListContactsAsync(), conversations, attachments);
    }

    public IReadOnlyList<string> Compare(StoreSnapshot other)
    {
        var differences = new List<string>();
        Check("message", Messages, other.Messages, m => m.MessageId, Same);
        Check("contact", Contacts, other.Contacts, c => c.ContactId, (x, y) => x with { PublicKey = y.PublicKey } == y && (x.PublicKey ?? []).AsSpan().SequenceEqual(y.PublicKey ?? []));
        Check("conversation", Conversations, other.Conversations, c => c.ConversationId, (x, y) => x == y);
        Check("attachment", Attachments, other.Attachments, a => a.MessageId + "/" + (a.Attachment.Cid ?? "inline"), (x, y) => x with { Attachment = y.Attachment } == y && Same(x.Attachment, y.Attachment));
        return differences;

        void Check<T>(string what, IReadOnlyList<T> left, IReadOnlyList<T> right, Func<T, string> id, Func<T, T, bool> same)
        {
            if (left.Count != right.Count)
            {
                differences.Add($"{left.Count} {what}s before, {right.Count} after");
            }
            for (var i = 0; i < Math.Min(left.Count, right.Count); i++)
            {
                if (!same(left[i], right[i]))
                {
                    differences.Add($"{what} {id(left[i])} differs");
                }
            }
        }
    }

    private static bool Same(Message x, Message y) =>
        x with { Attachments = y.Attachments, RecipientIds = y.RecipientIds } == y
        && x.RecipientIds.SequenceEqual(y.RecipientIds)
        && x.Attachments.Count == y.Attachments.Count
        && x.Attachments.Zip(y.Attachments).All(p => Same(p.First, p.Second));

    private static bool Same(Attachment x, Attachment y) =>
        x with { ContentKey = y.ContentKey, Sha256 = y.Sha256, Content = y.Content } == y
        && x.ContentKey.AsSpan().SequenceEqual(y.ContentKey) && x.Sha256.AsSpan().SequenceEqual(y.Sha256)
        && x.Content.AsSpan().SequenceEqual(y.Content);
}
