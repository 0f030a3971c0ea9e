using System.Security.Cryptography;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class InlineAttachmentTests : StoreTestBase
{
    [Test]
    public async Task Inline_and_mesh_attachments_of_one_message_read_back_byte_for_byte()
    {
        var small = RandomNumberGenerator.GetBytes(40_000);
        var reference = new Attachment { Cid = "cid-1", ContentKey = RandomNumberGenerator.GetBytes(32), FileName = "big.mp4", Size = 9_000_000, Sha256 = new byte[32] };
        await Store.SaveMessageAsync(Msg("m1", "c1", Start) with
        {
            Attachments = [InlineAttachment.Of("note.txt", small), reference, InlineAttachment.Of("empty.txt", [])],
        });
        await Store.DisposeAsync();
        var reopened = await OpenAsync(StorePath);

        var back = (await reopened.GetMessageAsync("m1"))!.Attachments;
        Assert.That(back, Has.Count.EqualTo(3));
        Assert.Multiple(() =>
        {
            Assert.That(back[0].IsInline, Is.True);
            Assert.That(back[0].Content, Is.EqualTo(small));
            Assert.That(back[0].Cid, Is.Null);
            Assert.That(back[0].ContentKey, Is.Null);
            Assert.That(back[0].Sha256, Is.EqualTo(SHA256.HashData(small)));
            Assert.That(back[1].IsInline, Is.False);
            Assert.That(back[1].Content, Is.Null);
            Assert.That(back[1].Cid, Is.EqualTo("cid-1"));
            Assert.That(back[1].ContentKey, Is.EqualTo(reference.ContentKey));
            Assert.That(back[2].IsInline, Is.True, "an empty file is inline, not a missing one");
            Assert.That(back[2].Content, Is.Empty);
        });
        var media = await reopened.GetConversationAttachmentsAsync("c1");
        Assert.That(media.Select(a => a.Attachment.FileName), Is.EqualTo(new[] { "note.txt", "big.mp4", "empty.txt" }));
        Assert.That(media[0].Attachment.Content, Is.EqualTo(small));
    }

    [Test]
    public async Task Deleting_a_message_removes_its_inline_content()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start) with { Attachments = [InlineAttachment.Of("a.txt", [1, 2, 3])] });
        Assert.That(await Store.DeleteMessageAsync("m1"), Is.True);
        Assert.That((await Store.GetMessageAsync("m1"))!.Attachments, Is.Empty);
        Assert.That(await Store.GetConversationAttachmentsAsync("c1"), Is.Empty);
    }

    [Test]
    public async Task An_inline_attachment_that_contradicts_itself_is_refused()
    {
        var good = InlineAttachment.Of("a.txt", [1, 2, 3]);
        Assert.Multiple(() =>
        {
            Assert.That(() => Store.SaveMessageAsync(Msg("x1", "c", Start) with { Attachments = [good with { Cid = "cid" , ContentKey = [1] }] }),
                Throws.ArgumentException.With.Message.Contain("must not have a Cid"));
            Assert.That(() => Store.SaveMessageAsync(Msg("x2", "c", Start) with { Attachments = [good with { Size = 4 }] }),
                Throws.ArgumentException.With.Message.Contain("holds 3 bytes"));
            Assert.That(() => Store.SaveMessageAsync(Msg("x3", "c", Start) with { Attachments = [good with { Sha256 = new byte[32] }] }),
                Throws.ArgumentException.With.Message.Contain("not the SHA-256"));
            Assert.That(() => Store.SaveMessageAsync(Msg("x4", "c", Start) with { Attachments = [good with { Content = null }] }),
                Throws.ArgumentException.With.Message.Contain("Attachment.Cid"));
        });
        Assert.That((await Store.GetMessagesAsync("c")).Items, Is.Empty);
    }
}
