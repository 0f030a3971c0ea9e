using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class MessageTests : StoreTestBase
{
    [Test]
    public async Task Saved_message_round_trips_every_field()
    {
        var attachment = new Attachment
        {
            Cid = "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",
            ContentKey = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            FileName = "cat.jpg",
            MimeType = "image/jpeg",
            Size = 123_456,
            Sha256 = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray(),
        };
        var message = Msg("m1", "c1", Start, "héllo wörld 🎉") with
        {
            ReplyToMessageId = "m0",
            ContentType = "text/markdown",
            Attachments = [attachment],
        };

        Assert.That(await Store.SaveMessageAsync(message), Is.True);
        var read = await Store.GetMessageAsync("m1");

        Assert.That(read, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(read!.MessageId, Is.EqualTo("m1"));
            Assert.That(read.ConversationId, Is.EqualTo("c1"));
            Assert.That(read.SenderId, Is.EqualTo("alice"));
            Assert.That(read.SentAt, Is.EqualTo(Start));
            Assert.That(read.ReceivedAt, Is.EqualTo(Start.AddSeconds(1)));
            Assert.That(read.Body, Is.EqualTo("héllo wörld 🎉"));
            Assert.That(read.ContentType, Is.EqualTo("text/markdown"));
            Assert.That(read.Status, Is.EqualTo(MessageStatus.Delivered));
            Assert.That(read.Direction, Is.EqualTo(MessageDirection.Incoming));
            Assert.That(read.ReplyToMessageId, Is.EqualTo("m0"));
            Assert.That(read.IsDeleted, Is.False);
            Assert.That(read.EditedAt, Is.Null);
            Assert.That(read.Attachments, Has.Count.EqualTo(1));
            Assert.That(read.Attachments[0].ContentKey, Is.EqualTo(attachment.ContentKey));
            Assert.That(read.Attachments[0].Sha256, Is.EqualTo(attachment.Sha256));
            Assert.That(read.Attachments[0] with { ContentKey = attachment.ContentKey, Sha256 = attachment.Sha256 }, Is.EqualTo(attachment));
        });
    }

    [Test]
    public async Task Saving_the_same_message_twice_is_idempotent()
    {
        var message = Msg("m1", "c1", Start);
        Assert.That(await Store.SaveMessageAsync(message), Is.True);
        Assert.That(await Store.SaveMessageAsync(message with { Body = "changed" }), Is.False);
        Assert.That(await Store.SaveMessagesAsync([message, Msg("m2", "c1", Start.AddSeconds(1)), Msg("m2", "c1", Start.AddSeconds(1))]), Is.EqualTo(1));

        var page = await Store.GetMessagesAsync("c1");
        Assert.That(page.Items.Select(m => m.MessageId), Is.EqualTo(new[] { "m2", "m1" }));
        Assert.That((await Store.GetMessageAsync("m1"))!.Body, Is.EqualTo("hello"));
        Assert.That((await Store.GetConversationAsync("c1"))!.UnreadCount, Is.EqualTo(2));
    }

    [Test]
    public async Task Batch_save_is_all_or_nothing()
    {
        await Store.SaveMessageAsync(Msg("m0", "c1", Start));
        var bad = Msg("m2", "c1", Start) with { Body = null! };

        Assert.Throws<ArgumentException>(() => Store.SaveMessagesAsync([Msg("m1", "c1", Start), bad]));
        Assert.That(await Store.GetMessageAsync("m1"), Is.Null);
        Assert.That((await Store.GetMessagesAsync("c1")).Items, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_cancelled_save_stores_nothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(() => Store.SaveMessageAsync(Msg("m1", "c1", Start), cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await Store.GetMessageAsync("m1"), Is.Null);
        Assert.That(await Store.GetConversationAsync("c1"), Is.Null);
    }

    [Test]
    public async Task Status_moves_forward_and_never_regresses()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start, direction: MessageDirection.Outgoing, sender: "me"));

        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Sent), Is.True);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Read), Is.True);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Delivered), Is.False);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Sent), Is.False);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Failed), Is.False);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Sending), Is.False);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Read), Is.False);
        Assert.That((await Store.GetMessageAsync("m1"))!.Status, Is.EqualTo(MessageStatus.Read));
        Assert.That(await Store.UpdateMessageStatusAsync("unknown", MessageStatus.Read), Is.False);
    }

    [Test]
    public async Task A_failed_message_can_still_be_sent_by_a_retry_but_a_sent_one_cannot_fail()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start, direction: MessageDirection.Outgoing, sender: "me"));
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Failed), Is.True);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Sent), Is.True);
        Assert.That(await Store.UpdateMessageStatusAsync("m1", MessageStatus.Failed), Is.False);
        Assert.That((await Store.GetMessageAsync("m1"))!.Status, Is.EqualTo(MessageStatus.Sent));
    }

    [Test]
    public async Task Edit_replaces_the_body_and_records_the_time()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start, "first version"));
        Clock.Advance(TimeSpan.FromMinutes(3));

        Assert.That(await Store.EditMessageAsync("m1", "second version"), Is.True);
        var read = await Store.GetMessageAsync("m1");
        Assert.That(read!.Body, Is.EqualTo("second version"));
        Assert.That(read.EditedAt, Is.EqualTo(Start.AddMinutes(3)));
        Assert.That((await Store.GetConversationAsync("c1"))!.LastMessagePreview, Is.EqualTo("second version"));
        Assert.That((await Store.SearchMessagesAsync("second")).Items, Has.Count.EqualTo(1));
        Assert.That((await Store.SearchMessagesAsync("first")).Items, Is.Empty);
        Assert.That(await Store.EditMessageAsync("nope", "x"), Is.False);
    }

    [Test]
    public async Task Delete_keeps_a_tombstone_without_body_or_attachments()
    {
        var withAttachment = Msg("m2", "c1", Start.AddSeconds(1), "secret words") with
        {
            Attachments = [new Attachment { Cid = "cid", ContentKey = [1, 2, 3], FileName = "a.bin", Size = 3, Sha256 = new byte[32] }],
        };
        await Store.SaveMessagesAsync([Msg("m1", "c1", Start, "older"), withAttachment]);
        Clock.Advance(TimeSpan.FromMinutes(1));

        Assert.That(await Store.DeleteMessageAsync("m2"), Is.True);
        Assert.That(await Store.DeleteMessageAsync("m2"), Is.False);

        var tombstone = await Store.GetMessageAsync("m2");
        Assert.That(tombstone, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(tombstone!.IsDeleted, Is.True);
            Assert.That(tombstone.DeletedAt, Is.EqualTo(Start.AddMinutes(1)));
            Assert.That(tombstone.Body, Is.Empty);
            Assert.That(tombstone.Attachments, Is.Empty);
            Assert.That(tombstone.SenderId, Is.EqualTo("alice"));
            Assert.That(tombstone.SentAt, Is.EqualTo(Start.AddSeconds(1)));
        });
        Assert.That(await Store.GetConversationAttachmentsAsync("c1"), Is.Empty);
        Assert.That((await Store.SearchMessagesAsync("secret")).Items, Is.Empty);
        Assert.That(await Store.EditMessageAsync("m2", "resurrect"), Is.False);
        var conversation = await Store.GetConversationAsync("c1");
        Assert.That(conversation!.LastMessageId, Is.EqualTo("m1"));
        Assert.That(conversation.LastMessagePreview, Is.EqualTo("older"));
        Assert.That(conversation.UnreadCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Reply_to_is_stored_even_when_the_original_is_not_known_yet()
    {
        await Store.SaveMessageAsync(Msg("reply", "c1", Start) with { ReplyToMessageId = "original" });
        Assert.That((await Store.GetMessageAsync("reply"))!.ReplyToMessageId, Is.EqualTo("original"));
    }

    [Test]
    public async Task Page_is_newest_first_and_keyset_paging_returns_each_message_once()
    {
        var messages = Enumerable.Range(0, 95).Select(i => Msg($"m{i}", "c1", Start.AddSeconds(i % 40).AddMilliseconds(i))).ToList();
        await Store.SaveMessagesAsync(messages.OrderBy(_ => Guid.NewGuid()));
        await Store.SaveMessageAsync(Msg("other", "c2", Start));

        var all = await AllPages(Store, "c1", 10);

        Assert.That(all.Select(m => m.MessageId), Is.EqualTo(messages.OrderByDescending(m => m.SentAt).Select(m => m.MessageId)));
    }

    [Test]
    public async Task Messages_with_the_same_send_time_are_all_paged()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 25).Select(i => Msg($"m{i}", "c1", Start)));
        var all = await AllPages(Store, "c1", 7);
        Assert.That(all.Select(m => m.MessageId), Is.EquivalentTo(Enumerable.Range(0, 25).Select(i => $"m{i}")));
    }

    [Test]
    public async Task Messages_sent_in_the_same_millisecond_across_reopens_are_all_kept()
    {
        // The store's ordering key restarts its sequence on open, so the second save collides and must retry.
        await Store.SaveMessageAsync(Msg("first", "c1", Start, ""));
        await Store.DisposeAsync();
        var reopened = await OpenAsync(StorePath);

        Assert.That(await reopened.SaveMessageAsync(Msg("second", "c1", Start)), Is.True);
        Assert.That(await reopened.SaveMessageAsync(Msg("first", "c1", Start)), Is.False);
        Assert.That((await reopened.GetMessagesAsync("c1")).Items.Select(m => m.MessageId), Is.EquivalentTo(new[] { "first", "second" }));
        Assert.That((await reopened.GetMessageAsync("first"))!.Body, Is.Empty);
    }

    [Test]
    public async Task Keyset_paging_returns_every_message_exactly_once_while_new_messages_arrive()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 100).Select(i => Msg($"old{i}", "c1", Start.AddSeconds(i))));
        var seen = new List<string>();
        string? cursor = null;
        var arrivals = 0;
        do
        {
            var page = await Store.GetMessagesAsync("c1", 9, cursor);
            seen.AddRange(page.Items.Select(m => m.MessageId));
            cursor = page.NextCursor;
            // New messages (newer than everything) and a late one with an old timestamp arrive between pages.
            await Store.SaveMessageAsync(Msg($"new{arrivals}", "c1", Start.AddHours(1).AddSeconds(arrivals)));
            await Store.SaveMessageAsync(Msg($"late{arrivals}", "c1", Start.AddSeconds(50).AddMilliseconds(arrivals + 1)));
            arrivals++;
        }
        while (cursor is not null);

        var old = seen.Where(id => id.StartsWith("old", StringComparison.Ordinal)).ToList();
        Assert.That(old, Is.EquivalentTo(Enumerable.Range(0, 100).Select(i => $"old{i}")));
        Assert.That(seen, Is.Unique);
        Assert.That(seen.Where(id => id.StartsWith("new", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task Unread_count_of_the_first_incoming_message_is_one()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start));

        Assert.That((await Store.GetConversationAsync("c1"))!.UnreadCount, Is.EqualTo(1));
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(1));
        Assert.That(await Store.CountUnreadAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task Outgoing_and_already_read_messages_are_not_unread()
    {
        await Store.SaveMessagesAsync([
            Msg("m1", "c1", Start, direction: MessageDirection.Outgoing, sender: "me"),
            Msg("m2", "c1", Start.AddSeconds(1), status: MessageStatus.Read),
            Msg("m3", "c2", Start.AddSeconds(2)),
        ]);
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(0));
        Assert.That(await Store.CountUnreadAsync(), Is.EqualTo(1));
        Assert.That(await Store.CountUnreadAsync("unknown"), Is.EqualTo(0));
    }

    [Test]
    public async Task Marking_an_incoming_message_read_by_status_lowers_the_unread_count()
    {
        await Store.SaveMessagesAsync([Msg("m1", "c1", Start), Msg("m2", "c1", Start.AddSeconds(1))]);
        await Store.UpdateMessageStatusAsync("m1", MessageStatus.Read);
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(1));
    }

    [Test]
    public void Invalid_arguments_throw_argument_exceptions_naming_the_parameter()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Store.SaveMessageAsync(null!), Throws.InstanceOf<ArgumentNullException>().With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessageAsync(Msg("", "c1", Start)), Throws.ArgumentException.With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessageAsync(Msg("m", " ", Start)), Throws.ArgumentException.With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessageAsync(Msg("m", "c", new DateTimeOffset(1900, 1, 1, 0, 0, 0, TimeSpan.Zero))), Throws.ArgumentException.With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessageAsync(Msg("m", "c", Start) with { Status = (MessageStatus)42 }), Throws.ArgumentException.With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessageAsync(Msg("m", "c", Start) with
            {
                Attachments = [new Attachment { Cid = "x", ContentKey = [1], FileName = "f", Size = 1, Sha256 = [1, 2] }],
            }), Throws.ArgumentException.With.Property("ParamName").EqualTo("message"));
            Assert.That(() => Store.SaveMessagesAsync(null!), Throws.InstanceOf<ArgumentNullException>().With.Property("ParamName").EqualTo("messages"));
            Assert.That(() => Store.GetMessageAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("messageId"));
            Assert.That(() => Store.GetMessagesAsync("c1", 0), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => Store.GetMessagesAsync("c1", 1001), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("limit"));
            Assert.That(() => Store.GetMessagesAsync("c1", 10, "garbage"), Throws.ArgumentException.With.Property("ParamName").EqualTo("cursor"));
            Assert.That(() => Store.UpdateMessageStatusAsync("m", (MessageStatus)9), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("status"));
            Assert.That(() => Store.EditMessageAsync("m", null!), Throws.InstanceOf<ArgumentNullException>().With.Property("ParamName").EqualTo("newBody"));
        });
    }
}
