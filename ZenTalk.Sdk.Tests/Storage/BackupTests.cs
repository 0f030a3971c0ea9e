using System.Buffers.Binary;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class BackupTests : StoreTestBase
{
    private async Task FillAsync(SqliteMessageStore store)
    {
        await store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice", PublicKey = [9, 9] });
        await store.SaveMessagesAsync(Enumerable.Range(0, 120).Select(i => Msg($"m{i}", $"c{i % 4}", Start.AddSeconds(i), $"message number {i} 🎉") with
        {
            Attachments = i % 10 == 0 ? [new Attachment { Cid = $"cid{i}", ContentKey = [(byte)i, 1], FileName = $"f{i}.png", Size = i, Sha256 = new byte[32] }]
                : i % 10 == 5 ? [InlineAttachment.Of($"n{i}.txt", [(byte)i, 2, 3])] : [],
            RecipientIds = i % 3 == 0 ? ["bob", "carol"] : i % 3 == 1 ? ["bob"] : [],
        }));
        await store.SetSettingStringAsync("theme", "dark");
        await store.SetSettingAsync("cache:avatar", new byte[] { 7, 8 }, TimeSpan.FromHours(1));
        await store.SetConversationPinnedAsync("c2", true);
        await store.MarkConversationReadAsync("c1");
        await store.DeleteMessageAsync("m7");
        await store.EnqueueRelayAsync("e1", "bob", new byte[] { 1, 2, 3 }, TimeSpan.FromDays(1));
    }

    private static async Task<byte[]> BackupBytes(SqliteMessageStore store)
    {
        using var stream = new MemoryStream();
        await store.BackupAsync(stream);
        return stream.ToArray();
    }

    private static async Task AssertSameContent(SqliteMessageStore expected, SqliteMessageStore actual)
    {
        for (var c = 0; c < 4; c++)
        {
            var a = await AllPages(expected, $"c{c}", 17);
            var b = await AllPages(actual, $"c{c}", 17);
            Assert.That(b.Select(Describe), Is.EqualTo(a.Select(Describe)));
            Assert.That(await actual.GetConversationAsync($"c{c}"), Is.EqualTo(await expected.GetConversationAsync($"c{c}")));
        }
        Assert.That((await actual.ListContactsAsync()).Select(x => (x.ContactId, x.DisplayName, x.AddedAt, Convert.ToHexString(x.PublicKey ?? []))),
            Is.EqualTo((await expected.ListContactsAsync()).Select(x => (x.ContactId, x.DisplayName, x.AddedAt, Convert.ToHexString(x.PublicKey ?? [])))));
        Assert.That(await actual.GetRelayStatsAsync(), Is.EqualTo(await expected.GetRelayStatsAsync()));
        Assert.That(await actual.GetSettingStringAsync("theme"), Is.EqualTo(await expected.GetSettingStringAsync("theme")));
        Assert.That(await actual.GetSettingAsync("cache:avatar"), Is.EqualTo(await expected.GetSettingAsync("cache:avatar")));
        Assert.That((await actual.SearchMessagesAsync("number")).Items.Select(Describe), Is.EqualTo((await expected.SearchMessagesAsync("number")).Items.Select(Describe)));
    }

    private static string Describe(Message m) =>
        $"{m.MessageId}|{m.ConversationId}|{m.SenderId}|{m.SentAt:O}|{m.Body}|{m.Status}|{m.DeletedAt:O}|{string.Join(",", m.RecipientIds)}|" +
        string.Join(",", m.Attachments.Select(a => $"{a.Cid}:{Convert.ToHexString(a.ContentKey ?? [])}:{Convert.ToHexString(a.Content ?? [])}:{a.FileName}:{a.Size}"));

    [Test]
    public async Task Restore_of_a_backup_equals_the_source()
    {
        await FillAsync(Store);
        var backup = await BackupBytes(Store);
        var target = Path.Combine(Directory, "restored", "messages.db");

        await SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target);
        var restored = await OpenAsync(target);

        await AssertSameContent(Store, restored);
    }

    [Test]
    public async Task Backup_while_writers_run_is_a_consistent_snapshot_that_restores_equal_to_the_source_at_that_moment()
    {
        await FillAsync(Store);
        using var stop = new CancellationTokenSource();
        var written = 0;
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await Store.SaveMessageAsync(Msg($"w{w}-{i}", $"c{i % 4}", Start.AddMinutes(10).AddMilliseconds(i), $"concurrent write {i}"));
                Interlocked.Increment(ref written);
            }
        })).ToArray();
        await Eventually.TrueAsync(() => Volatile.Read(ref written) >= 200 || writers.Any(w => w.IsFaulted), TimeSpan.FromSeconds(60),
            "the writers save 200 messages before the backup starts", poll: TimeSpan.FromMilliseconds(5));
        Assert.That(writers.Where(w => w.IsFaulted).Select(w => w.Exception!.GetBaseException().Message), Is.Empty, "no writer failed");
        var before = Volatile.Read(ref written);

        var backup = await BackupBytes(Store);
        var during = Volatile.Read(ref written);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.That(during, Is.GreaterThan(before), "writers kept running during the backup");

        var target = Path.Combine(Directory, "snapshot.db");
        await SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target);
        var restored = await OpenAsync(target);

        var total = 0;
        for (var c = 0; c < 4; c++)
        {
            var restoredMessages = await AllPages(restored, $"c{c}", 100);
            total += restoredMessages.Count;
            foreach (var message in restoredMessages)
            {
                var source = await Store.GetMessageAsync(message.MessageId);
                Assert.That(Describe(message), Is.EqualTo(Describe(source!)));
            }
            // A consistent snapshot: the denormalised unread count agrees with the snapshot's own messages.
            var conversation = await restored.GetConversationAsync($"c{c}");
            var unread = restoredMessages.Count(m => m.Direction == MessageDirection.Incoming && m.Status < MessageStatus.Read && !m.IsDeleted);
            Assert.That(conversation!.UnreadCount, Is.EqualTo(unread));
            Assert.That(conversation.LastMessageId, Is.EqualTo(restoredMessages.First(m => !m.IsDeleted).MessageId));
        }
        Assert.That(total, Is.InRange(120 + before, 120 + during));
    }

    [TestCase(0)]
    [TestCase(7)]
    [TestCase(31)]
    [TestCase(32)]
    [TestCase(5000)]
    [TestCase(-1)]
    [TestCase(-32)]
    public async Task A_truncated_backup_is_refused_and_the_existing_database_is_untouched(int cut)
    {
        await FillAsync(Store);
        var backup = await BackupBytes(Store);
        var length = cut >= 0 ? cut : backup.Length + cut;
        var target = Path.Combine(Directory, "existing.db");
        var existing = await OpenAsync(target);
        await existing.SaveMessageAsync(Msg("precious", "c9", Start, "do not lose me"));
        await existing.DisposeAsync();
        var before = File.ReadAllBytes(target);

        var error = Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(backup, 0, length), target));

        Assert.That(error!.Message, Does.Contain(cut == 0 ? "not a ZenTalk message store backup" : "truncated"));
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(before));
        Assert.That(System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName), Has.None.Contains("restore"), "no temporary file is left behind");
        var reopened = await OpenAsync(target);
        Assert.That((await reopened.GetMessageAsync("precious"))!.Body, Is.EqualTo("do not lose me"));
    }

    [TestCase(40)]
    [TestCase(20_000)]
    [TestCase(-5)]
    [TestCase(12)]
    public async Task A_corrupted_backup_is_refused_and_the_existing_database_is_untouched(int offset)
    {
        await FillAsync(Store);
        var backup = await BackupBytes(Store);
        backup[offset >= 0 ? offset : backup.Length + offset] ^= 0x5A;
        var target = Path.Combine(Directory, "existing.db");
        File.WriteAllBytes(target, [1, 2, 3]);

        Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target));

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void A_foreign_stream_is_refused()
    {
        var target = Path.Combine(Directory, "new.db");
        var random = new byte[10_000];
        new Random(4).NextBytes(random);

        Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(random), target));
        Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(File.ReadAllBytes(StorePath)), target));
        Assert.That(File.Exists(target), Is.False);
    }

    [Test]
    public async Task A_backup_from_a_newer_format_version_is_refused()
    {
        var backup = await BackupBytes(Store);
        BinaryPrimitives.WriteUInt16LittleEndian(backup.AsSpan(8), 2);
        var error = Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(backup), Path.Combine(Directory, "x.db")));
        Assert.That(error!.Message, Does.Contain("format version 2"));
    }

    [Test]
    public async Task Restore_replaces_an_existing_database_and_its_stale_wal()
    {
        await FillAsync(Store);
        var backup = await BackupBytes(Store);
        var target = Path.Combine(Directory, "replace.db");
        var old = await OpenAsync(target);
        await old.SaveMessageAsync(Msg("old-only", "c1", Start));
        await old.DisposeAsync();
        File.WriteAllBytes(target + "-wal", new byte[100]);

        await SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target);

        Assert.That(File.Exists(target + "-wal"), Is.False);
        var restored = await OpenAsync(target);
        Assert.That(await restored.GetMessageAsync("old-only"), Is.Null);
        await AssertSameContent(Store, restored);
    }

    [Test]
    public async Task An_in_memory_store_backs_up_and_restores_to_a_file()
    {
        var memory = await SqliteMessageStore.OpenInMemoryAsync(Options());
        await using (memory)
        {
            await FillAsync(memory);
            var backup = await BackupBytes(memory);
            var target = Path.Combine(Directory, "from-memory.db");
            await SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target);
            var restored = await OpenAsync(target);
            await AssertSameContent(memory, restored);
            Assert.That(memory.DatabasePath, Is.Null);
        }
    }

    [Test]
    public void Invalid_backup_arguments_are_rejected()
    {
        Assert.That(() => Store.BackupAsync(null!), Throws.InstanceOf<ArgumentNullException>().With.Property("ParamName").EqualTo("destination"));
        Assert.That(() => Store.BackupAsync(new MemoryStream([], writable: false)), Throws.ArgumentException.With.Property("ParamName").EqualTo("destination"));
        Assert.That(() => SqliteMessageStore.RestoreAsync(new MemoryStream(), ""), Throws.ArgumentException.With.Property("ParamName").EqualTo("targetPath"));
    }

    [TearDown]
    public void ClearPools() => SqliteConnection.ClearAllPools();
}
