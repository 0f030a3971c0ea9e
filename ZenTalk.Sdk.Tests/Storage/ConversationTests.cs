using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class ConversationTests : StoreTestBase
{
    [Test]
    public async Task Conversation_is_created_on_its_first_message_with_a_preview()
    {
        Assert.That(await Store.GetConversationAsync("c1"), Is.Null);
        var longBody = new string('x', 119) + "🎉 and more";
        await Store.SaveMessageAsync(Msg("m1", "c1", Start, longBody));

        var conversation = await Store.GetConversationAsync("c1");
        Assert.That(conversation, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(conversation!.CreatedAt, Is.EqualTo(Start));
            Assert.That(conversation.LastMessageId, Is.EqualTo("m1"));
            Assert.That(conversation.LastMessageAt, Is.EqualTo(Start));
            Assert.That(conversation.LastActivityAt, Is.EqualTo(Start));
            Assert.That(conversation.LastSenderId, Is.EqualTo("alice"));
            Assert.That(conversation.LastMessagePreview, Is.EqualTo(new string('x', 119)), "the preview never splits a surrogate pair");
            Assert.That(conversation.UnreadCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Last_message_is_the_newest_by_send_time_not_by_arrival()
    {
        await Store.SaveMessageAsync(Msg("new", "c1", Start.AddMinutes(5), "newest"));
        await Store.SaveMessageAsync(Msg("late", "c1", Start, "arrived late"));
        await Store.SaveMessagesAsync([Msg("b1", "c1", Start.AddMinutes(1)), Msg("b2", "c1", Start.AddMinutes(2))]);

        var conversation = await Store.GetConversationAsync("c1");
        Assert.That(conversation!.LastMessageId, Is.EqualTo("new"));
        Assert.That(conversation.LastMessagePreview, Is.EqualTo("newest"));
        Assert.That(conversation.UnreadCount, Is.EqualTo(4));
    }

    [Test]
    public async Task Mark_read_resets_the_unread_count_all_or_up_to_a_message()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 5).Select(i => Msg($"m{i}", "c1", Start.AddSeconds(i))));
        await Store.SaveMessageAsync(Msg("mine", "c1", Start.AddSeconds(10), direction: MessageDirection.Outgoing, sender: "me"));

        Assert.That(await Store.MarkConversationReadAsync("c1", "m2"), Is.EqualTo(3));
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(2));
        Assert.That((await Store.GetMessageAsync("m2"))!.Status, Is.EqualTo(MessageStatus.Read));
        Assert.That((await Store.GetMessageAsync("m3"))!.Status, Is.EqualTo(MessageStatus.Delivered));
        Assert.That((await Store.GetMessageAsync("mine"))!.Status, Is.EqualTo(MessageStatus.Sending), "outgoing messages are not touched");

        Assert.That(await Store.MarkConversationReadAsync("c1"), Is.EqualTo(2));
        Assert.That((await Store.GetConversationAsync("c1"))!.UnreadCount, Is.EqualTo(0));
        Assert.That(await Store.MarkConversationReadAsync("c1"), Is.EqualTo(0));
        Assert.That(await Store.MarkConversationReadAsync("c1", "unknown"), Is.EqualTo(0));

        await Store.SaveMessageAsync(Msg("m9", "c1", Start.AddSeconds(20)));
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(1));
    }

    [Test]
    public async Task Pin_mute_and_archive_are_stored_and_unknown_conversations_report_false()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start));
        Assert.That(await Store.SetConversationPinnedAsync("c1", true), Is.True);
        Assert.That(await Store.SetConversationMutedAsync("c1", true), Is.True);
        var conversation = await Store.GetConversationAsync("c1");
        Assert.That(conversation!.IsPinned && conversation.IsMuted && !conversation.IsArchived, Is.True);

        Assert.That(await Store.SetConversationArchivedAsync("c1", true), Is.True);
        Assert.That((await Store.ListConversationsAsync()).Items, Is.Empty);
        Assert.That((await Store.ListConversationsAsync(archived: true)).Items.Single().ConversationId, Is.EqualTo("c1"));
        Assert.That(await Store.SetConversationPinnedAsync("nope", true), Is.False);
        Assert.That(await Store.SetConversationMutedAsync("nope", true), Is.False);
        Assert.That(await Store.SetConversationArchivedAsync("nope", true), Is.False);
    }

    [Test]
    public async Task List_is_pinned_first_then_by_last_activity_and_pages_each_conversation_once()
    {
        for (var i = 0; i < 23; i++)
        {
            await Store.SaveMessageAsync(Msg($"m{i}", $"c{i}", Start.AddMinutes(i)));
        }
        await Store.SetConversationPinnedAsync("c3", true);
        await Store.SetConversationPinnedAsync("c10", true);
        // Activity in c0 makes it the most recent unpinned conversation.
        await Store.SaveMessageAsync(Msg("late", "c0", Start.AddHours(2)));

        var listed = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Store.ListConversationsAsync(limit: 4, cursor: cursor);
            listed.AddRange(page.Items.Select(c => c.ConversationId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var expected = new[] { "c10", "c3", "c0" }.Concat(Enumerable.Range(1, 22).Reverse().Where(i => i is not 3 and not 10).Select(i => $"c{i}"));
        Assert.That(listed, Is.EqualTo(expected));
    }

    [Test]
    public async Task Conversation_attachments_are_listed_newest_message_first()
    {
        static Attachment Make(string name) => new() { Cid = "cid-" + name, ContentKey = [7, 7], FileName = name, MimeType = "image/png", Size = 10, Sha256 = new byte[32] };
        await Store.SaveMessagesAsync([
            Msg("m1", "c1", Start) with { Attachments = [Make("a.png"), Make("b.png")] },
            Msg("m2", "c1", Start.AddSeconds(1), "no media"),
            Msg("m3", "c1", Start.AddSeconds(2)) with { Attachments = [Make("c.png")] },
            Msg("x", "c2", Start) with { Attachments = [Make("other.png")] },
        ]);

        var list = await Store.GetConversationAttachmentsAsync("c1");

        Assert.That(list.Select(a => (a.MessageId, a.Attachment.FileName)), Is.EqualTo(new[] { ("m3", "c.png"), ("m1", "a.png"), ("m1", "b.png") }));
        Assert.That(list[0].Attachment.ContentKey, Is.EqualTo(new byte[] { 7, 7 }), "the content key is stored as given");
        Assert.That(list[0].SentAt, Is.EqualTo(Start.AddSeconds(2)));
    }

    [Test]
    public void Invalid_listing_arguments_are_rejected()
    {
        Assert.That(() => Store.ListConversationsAsync(limit: 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
        Assert.That(() => Store.ListConversationsAsync(cursor: "m12"), Throws.ArgumentException.With.Property("ParamName").EqualTo("cursor"));
        Assert.That(() => Store.MarkConversationReadAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("conversationId"));
    }
}
