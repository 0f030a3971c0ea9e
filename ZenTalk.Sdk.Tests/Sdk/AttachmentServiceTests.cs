using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Sdk;

[TestFixture]
[CancelAfter(120_000)]
public class AttachmentServiceTests
{
    private string _dir = null!;
    private SqliteMessageStore _alice = null!;
    private SqliteMessageStore _bob = null!;
    private OwnerKey _aliceKey = null!;

    [OneTimeSetUp]
    public void CreateKey() => _aliceKey = OwnerKey.Generate(2048);

    [OneTimeTearDown]
    public void DisposeKey() => _aliceKey.Dispose();

    [SetUp]
    public async Task OpenStores()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"zentalk-sdk-attach-{Guid.NewGuid():N}");
        _alice = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "alice.db"));
        _bob = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "bob.db"));
    }

    [TearDown]
    public async Task CloseStores()
    {
        await _alice.DisposeAsync();
        await _bob.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private AttachmentService Alice(IMessageStore? store = null, AttachmentServiceOptions? options = null) =>
        new(store ?? _alice, SdkMesh.Mesh.Nodes[0].Store, _aliceKey, options ?? new AttachmentServiceOptions { SenderId = "alice" });

    [Test]
    public async Task A_sent_attachment_opens_byte_for_byte_for_the_recipient_through_another_node(CancellationToken cancellationToken)
    {
        var image = MeshTestData.Bytes(300_000, 1); // several 64 KiB segments
        var reports = new List<TransferProgress>();
        var sent = await Alice().SendAttachmentAsync("alice-bob", new MemoryStream(image), "photo.png", "image/png", "look", new SyncProgress<TransferProgress>(reports.Add), cancellationToken);

        var saved = await _alice.GetMessageAsync(sent.MessageId, cancellationToken);
        Assert.That(saved, Is.Not.Null);
        var attachment = saved!.Attachments.Single();
        Assert.Multiple(() =>
        {
            Assert.That(saved.Body, Is.EqualTo("look"));
            Assert.That(saved.SenderId, Is.EqualTo("alice"));
            Assert.That(attachment.FileName, Is.EqualTo("photo.png"));
            Assert.That(attachment.MimeType, Is.EqualTo("image/png"));
            Assert.That(attachment.Size, Is.EqualTo(image.Length));
            Assert.That(attachment.Sha256, Is.EqualTo(SHA256.HashData(image)));
            Assert.That(attachment.ContentKey, Has.Length.EqualTo(32));
            Assert.That(reports, Is.Not.Empty, "progress passes through to the caller");
            Assert.That(reports[^1].BytesTransferred, Is.EqualTo(image.Length));
        });

        // Bob receives the message (transport is outside the SDK) and opens it through his own node.
        await _bob.SaveMessageAsync(saved with { Direction = MessageDirection.Incoming, Status = MessageStatus.Delivered }, cancellationToken);
        using var bobKey = OwnerKey.Generate(2048);
        var bob = new AttachmentService(_bob, SdkMesh.Mesh.Nodes[14].Store, bobKey);
        var back = await MeshTestData.ReadAllAsync(await bob.OpenAttachmentAsync(sent.MessageId, cancellationToken: cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(image));

        var listed = await _bob.GetConversationAttachmentsAsync("alice-bob", cancellationToken);
        var again = await MeshTestData.ReadAllAsync(await bob.OpenAsync(listed.Single().Attachment, cancellationToken), cancellationToken);
        Assert.That(again, Is.EqualTo(image));
    }

    [Test]
    public async Task An_empty_file_round_trips(CancellationToken cancellationToken)
    {
        var sent = await Alice().SendAttachmentAsync("alice-bob", new MemoryStream(), "empty.txt", "text/plain", cancellationToken: cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await Alice().OpenAttachmentAsync(sent.MessageId, cancellationToken: cancellationToken), cancellationToken);
        Assert.That(back, Is.Empty);
    }

    [Test]
    public async Task A_failed_upload_saves_no_message_and_leaves_no_shards(CancellationToken cancellationToken)
    {
        var before = await SdkMesh.StoredShardsAsync();
        var source = new FailingStream(MeshTestData.Bytes(400_000, 2), failAfter: 200_000);

        Assert.That(async () => await Alice().SendAttachmentAsync("alice-bob", source, "broken.bin", "application/octet-stream"),
            Throws.InstanceOf<IOException>().Or.InstanceOf<MeshStorageException>());

        Assert.That(await _alice.GetConversationAsync("alice-bob", cancellationToken), Is.Null, "no message, so no conversation either");
        Assert.That((await _alice.GetMessagesAsync("alice-bob", cancellationToken: cancellationToken)).Items, Is.Empty);
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_cancelled_upload_saves_no_message(CancellationToken cancellationToken)
    {
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<TransferProgress>(p =>
        {
            if (p.SegmentsCompleted >= 1)
            {
                cts.Cancel();
            }
        });

        Assert.That(async () => await Alice().SendAttachmentAsync("alice-bob", new MemoryStream(MeshTestData.Bytes(500_000, 3)),
                "big.bin", "application/octet-stream", progress: progress, cancellationToken: cts.Token),
            Throws.InstanceOf<OperationCanceledException>());

        Assert.That((await _alice.GetMessagesAsync("alice-bob", cancellationToken: cancellationToken)).Items, Is.Empty);
    }

    [Test]
    public async Task A_message_that_cannot_be_saved_deletes_the_upload(CancellationToken cancellationToken)
    {
        var before = await SdkMesh.StoredShardsAsync();
        var closed = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "closed.db"), cancellationToken: cancellationToken);
        await closed.DisposeAsync();

        Assert.That(async () => await Alice(closed).SendAttachmentAsync("alice-bob", new MemoryStream(MeshTestData.Bytes(200_000, 4)), "a.bin", "application/octet-stream"),
            Throws.InstanceOf<ObjectDisposedException>());

        Assert.That(await SdkMesh.StoredShardsAsync(), Is.EqualTo(before), "the upload's shards were deleted again");
    }

    [Test]
    public async Task A_message_the_store_refuses_deletes_the_upload_and_saves_nothing(CancellationToken cancellationToken)
    {
        var before = await SdkMesh.StoredShardsAsync();
        // A clock past the store's range: the store refuses the message only after the upload has happened.
        var options = new AttachmentServiceOptions { SenderId = "alice", TimeProvider = new FakeTimeProvider(new DateTimeOffset(2300, 1, 1, 0, 0, 0, TimeSpan.Zero)) };

        Assert.That(async () => await Alice(options: options).SendAttachmentAsync("alice-bob", new MemoryStream(MeshTestData.Bytes(100_000, 5)), "a.bin", "application/octet-stream"),
            Throws.InstanceOf<ArgumentException>().Or.InstanceOf<MessageStoreException>());

        Assert.That((await _alice.GetMessagesAsync("alice-bob", cancellationToken: cancellationToken)).Items, Is.Empty);
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task Opening_an_attachment_whose_recorded_hash_differs_fails_before_the_end_is_reported(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(150_000, 6);
        var sent = await Alice().SendAttachmentAsync("alice-bob", new MemoryStream(data), "a.bin", "application/octet-stream", cancellationToken: cancellationToken);
        var original = sent.Attachments[0];
        var wrongHash = original with { Sha256 = SHA256.HashData(new byte[] { 1 }) };
        var wrongSize = original with { Size = original.Size - 1 };

        Assert.That(async () => await MeshTestData.ReadAllAsync(await Alice().OpenAsync(wrongHash)), Throws.InstanceOf<IntegrityException>());
        Assert.That(async () => await MeshTestData.ReadAllAsync(await Alice().OpenAsync(wrongSize)), Throws.InstanceOf<IntegrityException>());
        Assert.That(await MeshTestData.ReadAllAsync(await Alice().OpenAsync(original, cancellationToken), cancellationToken), Is.EqualTo(data));
    }

    [Test]
    public async Task Bad_arguments_are_refused_before_anything_is_uploaded(CancellationToken cancellationToken)
    {
        var before = await SdkMesh.StoredShardsAsync();
        var content = new MemoryStream([1, 2, 3]);
        Assert.Multiple(() =>
        {
            Assert.That(() => Alice().SendAttachmentAsync(" ", content, "a", "b"), Throws.ArgumentException.With.Property("ParamName").EqualTo("conversationId"));
            Assert.That(() => Alice().SendAttachmentAsync("c", content, "dir/a.png", "image/png"), Throws.ArgumentException.With.Property("ParamName").EqualTo("fileName"));
            Assert.That(() => Alice().SendAttachmentAsync("c", content, "a.png", ""), Throws.ArgumentException.With.Property("ParamName").EqualTo("mimeType"));
            Assert.That(() => Alice().OpenAsync(new Attachment { Cid = "not-a-cid", ContentKey = new byte[32], FileName = "a", Size = 1, Sha256 = new byte[32] }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("attachment"));
        });
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task Asking_for_an_attachment_index_the_message_does_not_have_is_refused(CancellationToken cancellationToken)
    {
        var sent = await Alice().SendAttachmentAsync("alice-bob", new MemoryStream([1, 2, 3]), "a.bin", "application/octet-stream", cancellationToken: cancellationToken);
        Assert.That(() => Alice().OpenAttachmentAsync(sent.MessageId, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("attachmentIndex"));
    }

    [Test]
    public void Opening_an_attachment_of_an_unknown_message_names_the_message()
    {
        var error = Assert.ThrowsAsync<MessageNotFoundException>(() => Alice().OpenAttachmentAsync("no-such-message"));
        Assert.That(error!.MessageId, Is.EqualTo("no-such-message"));
        Assert.That(error, Is.InstanceOf<MessageStoreException>());
        Assert.That(error.Message, Does.Contain("no-such-message"));
    }

    [TestCase(AttachmentServiceOptions.DefaultMaxInlineSize)]
    [TestCase(1000)]
    public async Task A_file_up_to_the_threshold_stays_in_the_store_and_one_byte_more_goes_to_the_mesh(int threshold, CancellationToken cancellationToken)
    {
        var options = new AttachmentServiceOptions { SenderId = "alice", MaxInlineSize = threshold };
        var atThreshold = MeshTestData.Bytes(threshold, 11);
        var overThreshold = MeshTestData.Bytes(threshold + 1, 12);
        var shards = await SdkMesh.StoredShardsAsync();

        // Non-seekable sources that deliver odd-sized chunks: the service cannot ask for a length.
        var small = await Alice(options: options).SendAttachmentAsync("alice-bob", new FailingStream(atThreshold, int.MaxValue, chunk: 777), "small.bin", "application/octet-stream", cancellationToken: cancellationToken);
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.EqualTo(shards), "the small file placed nothing in the mesh");
        var large = await Alice(options: options).SendAttachmentAsync("alice-bob", new FailingStream(overThreshold, int.MaxValue, chunk: 777), "large.bin", "application/octet-stream", cancellationToken: cancellationToken);
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.GreaterThan(shards), "the large file went to the mesh");

        var storedSmall = (await _alice.GetMessageAsync(small.MessageId, cancellationToken))!.Attachments.Single();
        var storedLarge = (await _alice.GetMessageAsync(large.MessageId, cancellationToken))!.Attachments.Single();
        Assert.Multiple(() =>
        {
            Assert.That(storedSmall.IsInline, Is.True);
            Assert.That(storedSmall.Content, Is.EqualTo(atThreshold));
            Assert.That(storedSmall.Cid, Is.Null);
            Assert.That(storedSmall.Size, Is.EqualTo(threshold));
            Assert.That(storedSmall.Sha256, Is.EqualTo(SHA256.HashData(atThreshold)));
            Assert.That(storedLarge.IsInline, Is.False);
            Assert.That(storedLarge.Content, Is.Null);
            Assert.That(storedLarge.Cid, Is.Not.Null);
            Assert.That(storedLarge.Size, Is.EqualTo(threshold + 1));
            Assert.That(storedLarge.Sha256, Is.EqualTo(SHA256.HashData(overThreshold)));
        });

        // Bob receives both messages and opens them through his own node, byte for byte.
        using var bobKey = OwnerKey.Generate(2048);
        var bob = new AttachmentService(_bob, SdkMesh.Mesh.Nodes[14].Store, bobKey);
        foreach (var sent in new[] { small, large })
        {
            var saved = await _alice.GetMessageAsync(sent.MessageId, cancellationToken);
            await _bob.SaveMessageAsync(saved! with { Direction = MessageDirection.Incoming, Status = MessageStatus.Delivered }, cancellationToken);
        }
        Assert.That(await MeshTestData.ReadAllAsync(await bob.OpenAttachmentAsync(small.MessageId, cancellationToken: cancellationToken), cancellationToken), Is.EqualTo(atThreshold));
        Assert.That(await MeshTestData.ReadAllAsync(await bob.OpenAttachmentAsync(large.MessageId, cancellationToken: cancellationToken), cancellationToken), Is.EqualTo(overThreshold));
    }

    [Test]
    public async Task A_threshold_of_zero_sends_even_a_one_byte_file_to_the_mesh(CancellationToken cancellationToken)
    {
        var shards = await SdkMesh.StoredShardsAsync();
        var sent = await Alice(options: new AttachmentServiceOptions { SenderId = "alice", MaxInlineSize = 0 })
            .SendAttachmentAsync("alice-bob", new MemoryStream([42]), "one.bin", "application/octet-stream", cancellationToken: cancellationToken);
        Assert.That(sent.Attachments.Single().IsInline, Is.False);
        Assert.That(await SdkMesh.StoredShardsAsync(), Is.GreaterThan(shards));
        Assert.That(await MeshTestData.ReadAllAsync(await Alice().OpenAttachmentAsync(sent.MessageId, cancellationToken: cancellationToken), cancellationToken), Is.EqualTo(new byte[] { 42 }));
    }

    [Test]
    public void A_threshold_outside_its_range_is_refused()
    {
        Assert.That(() => Alice(options: new AttachmentServiceOptions { MaxInlineSize = -1 }), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("MaxInlineSize"));
        Assert.That(() => Alice(options: new AttachmentServiceOptions { MaxInlineSize = AttachmentServiceOptions.MaxInlineSizeLimit + 1 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("MaxInlineSize"));
    }

    [Test]
    public async Task Inline_content_that_does_not_match_its_hash_fails_the_read(CancellationToken cancellationToken)
    {
        var sent = await Alice().SendAttachmentAsync("alice-bob", new MemoryStream(MeshTestData.Bytes(5000, 13)), "a.bin", "application/octet-stream", cancellationToken: cancellationToken);
        var attachment = sent.Attachments.Single();
        var tampered = (byte[])attachment.Content!.Clone();
        tampered[4321] ^= 1;
        var stream = await Alice().OpenAsync(attachment with { Content = tampered }, cancellationToken);
        Assert.That(() => MeshTestData.ReadAllAsync(stream), Throws.InstanceOf<IntegrityException>());
    }

    /// <summary>Reports synchronously, so a test sees every report before the call returns.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
