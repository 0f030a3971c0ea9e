using System.Security.Cryptography;
using System.Text;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Sdk;

[TestFixture]
[CancelAfter(120_000)]
public class BackupServiceTests
{
    private string _dir = null!;
    private OwnerKey _owner = null!;

    [OneTimeSetUp]
    public void CreateKey() => _owner = OwnerKey.Generate(2048);

    [OneTimeTearDown]
    public void DisposeKey() => _owner.Dispose();

    [SetUp]
    public void CreateDirectory()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"zentalk-sdk-backup-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static BackupService Service(int node) => new(SdkMesh.Mesh.Nodes[node].Store);

    /// <summary>A store with every kind of row: messages in both directions, edits, tombstones, replies, attachments,
    /// contacts with flags, conversations pinned, muted, archived and read.</summary>
    private static async Task FillAsync(IMessageStore store, int messages)
    {
        string[] friends = ["alice", "bob", "carol", "dave"];
        foreach (var friend in friends)
        {
            await store.UpsertContactAsync(new Contact { ContactId = friend, DisplayName = friend.ToUpperInvariant(), PublicKey = Encoding.UTF8.GetBytes(friend) });
        }
        await store.SetContactFavoriteAsync("alice", true);
        await store.SetContactBlockedAsync("dave", true);
        var start = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
        await store.SaveMessagesAsync(Enumerable.Range(0, messages).Select(i =>
        {
            var friend = friends[i % friends.Length];
            var incoming = i % 2 == 0;
            return new Message
            {
                MessageId = $"m{i}",
                ConversationId = $"chat-{friend}",
                SenderId = incoming ? friend : "me",
                SentAt = start.AddSeconds(i * 37),
                ReceivedAt = incoming ? start.AddSeconds((i * 37) + 1) : null,
                Body = $"message {i} — café ☕ {friend}",
                Direction = incoming ? MessageDirection.Incoming : MessageDirection.Outgoing,
                Status = incoming ? MessageStatus.Delivered : MessageStatus.Sent,
                ReplyToMessageId = i % 10 == 5 ? $"m{i - 1}" : null,
                Attachments = i % 50 == 0
                    ? [new Attachment { Cid = $"cid-{i}", ContentKey = RandomNumberGenerator.GetBytes(32), FileName = $"f{i}.jpg", MimeType = "image/jpeg", Size = i + 1, Sha256 = SHA256.HashData(BitConverter.GetBytes(i)) }]
                    : [],
            };
        }));
        await store.EditMessageAsync("m3", "edited text");
        await store.DeleteMessageAsync("m7");
        await store.SetConversationPinnedAsync("chat-alice", true);
        await store.SetConversationMutedAsync("chat-bob", true);
        await store.SetConversationArchivedAsync("chat-carol", true);
        await store.MarkConversationReadAsync("chat-alice");
    }

    /// <summary>Fills a new store with <paramref name="messages"/> messages and backs it up through node <paramref name="via"/>.</summary>
    private async Task<(StoreContents Before, BackupReceipt Receipt)> BackUpFilledStoreAsync(int messages, int via, CancellationToken cancellationToken)
    {
        await using var store = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "old.db"), cancellationToken: cancellationToken);
        await FillAsync(store, messages);
        var before = await StoreContents.ReadAsync(store);
        return (before, await Service(via).BackupAsync(store, _owner, cancellationToken: cancellationToken));
    }

    [Test]
    public async Task A_restore_from_holders_that_alter_what_they_serve_gives_an_identical_store(CancellationToken cancellationToken)
    {
        // The restore trusts each segment's tag (the backup's key is its owner's alone): holders without the key that
        // flip a byte or serve another shard are caught by the tag, and the segment is read again with its shards checked.
        var (before, receipt) = await BackUpFilledStoreAsync(1_500, via: 4, cancellationToken);

        int[] liarNodes = [6, 8, 13];
        var liars = liarNodes.Select((i, n) => HostileShardHandler.Install(SdkMesh.Mesh.Nodes[i], n == 1 ? ShardLie.OtherShard : ShardLie.FlipByte)).ToList();
        try
        {
            var newPath = Path.Combine(_dir, "restored.db");
            await Service(9).RestoreAsync(receipt.Cid, receipt.ContentKey, newPath, cancellationToken);
            await using var restored = await SqliteMessageStore.OpenAsync(newPath, cancellationToken: cancellationToken);
            Assert.That(before.DifferencesFrom(await StoreContents.ReadAsync(restored)), Is.Empty);
            Assert.That(liars.Sum(l => l.LiesTold), Is.GreaterThan(0), "the liars were asked");
        }
        finally
        {
            foreach (int i in liarNodes) HostileShardHandler.Remove(SdkMesh.Mesh.Nodes[i]);
        }
    }

    [Test]
    public async Task Backup_then_restore_on_a_new_path_gives_an_identical_store(CancellationToken cancellationToken)
    {
        var (before, receipt) = await BackUpFilledStoreAsync(2_000, via: 2, cancellationToken);
        Assert.That(before.Messages, Has.Count.EqualTo(2_000));
        Assert.That(before.Attachments, Has.Count.EqualTo(40));

        // The new device knows only the recovery kit and talks to another node.
        var kit = BackupReceipt.ParseRecoveryKit(receipt.ToRecoveryKit());
        var newPath = Path.Combine(_dir, "new-device", "messages.db");
        await Service(11).RestoreAsync(kit.Cid, kit.ContentKey, newPath, cancellationToken);

        await using var restored = await SqliteMessageStore.OpenAsync(newPath, cancellationToken: cancellationToken);
        var after = await StoreContents.ReadAsync(restored);
        Assert.That(before.DifferencesFrom(after), Is.Empty);
        Assert.That((await restored.SearchMessagesAsync("cafe", cancellationToken: cancellationToken)).Items, Is.Not.Empty, "the search index comes along");
    }

    [Test]
    public async Task Restore_with_a_wrong_key_is_refused_and_the_existing_store_is_untouched(CancellationToken cancellationToken)
    {
        var receipt = await BackUpSmallStoreAsync();
        var target = await ExistingTargetAsync();
        var bytesBefore = await File.ReadAllBytesAsync(target, cancellationToken);

        Assert.That(async () => await Service(5).RestoreAsync(receipt.Cid, ContentKey.Generate(), target),
            Throws.InstanceOf<IntegrityException>());

        Assert.That(await File.ReadAllBytesAsync(target, cancellationToken), Is.EqualTo(bytesBefore));
        await AssertTargetStillHoldsItsOwnDataAsync(target);
    }

    [Test]
    public async Task Restore_of_a_cid_that_is_not_a_backup_is_refused_and_the_existing_store_is_untouched(CancellationToken cancellationToken)
    {
        var picture = await SdkMesh.Mesh.Nodes[1].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(100_000, 9)), _owner, cancellationToken: cancellationToken);
        var target = await ExistingTargetAsync();
        var bytesBefore = await File.ReadAllBytesAsync(target, cancellationToken);

        Assert.That(async () => await Service(6).RestoreAsync(picture.Cid, picture.ContentKey, target),
            Throws.InstanceOf<BackupFormatException>().With.Message.Contains("not"));

        Assert.That(await File.ReadAllBytesAsync(target, cancellationToken), Is.EqualTo(bytesBefore));
        await AssertTargetStillHoldsItsOwnDataAsync(target);
        Assert.That(Directory.GetFiles(_dir, "*restore*"), Is.Empty, "no temporary file is left behind");
    }

    [Test]
    public async Task Restore_of_an_unknown_cid_reports_it_missing(CancellationToken cancellationToken)
    {
        var receipt = await BackUpSmallStoreAsync();
        var other = await SdkMesh.Mesh.Nodes[1].Store.StoreAsync(new MemoryStream([1]), _owner, cancellationToken: cancellationToken);
        await SdkMesh.Mesh.Nodes[1].Store.DeleteAsync(other.Cid, _owner, cancellationToken);

        Assert.That(async () => await Service(3).RestoreAsync(other.Cid, receipt.ContentKey, Path.Combine(_dir, "x.db")),
            Throws.InstanceOf<ShardsUnavailableException>());
        Assert.That(File.Exists(Path.Combine(_dir, "x.db")), Is.False);
    }

    [Test]
    public void A_recovery_kit_round_trips_and_malformed_kits_are_refused()
    {
        var cid = ZenTalk.MeshStorage.Cid.Parse("zt" + new string('a', 55).Remove(0, 4).Insert(0, "aeja"));
        var receipt = new BackupReceipt
        {
            Cid = cid, ContentKey = ContentKey.Generate(), Size = 12345,
            CreatedAt = new DateTimeOffset(2026, 11, 25, 18, 0, 0, 123, TimeSpan.Zero),
        };
        var kit = receipt.ToRecoveryKit();
        var parsed = BackupReceipt.ParseRecoveryKit("\n  " + kit.Replace("\n", "\r\n", StringComparison.Ordinal) + "\n");

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Cid, Is.EqualTo(receipt.Cid));
            Assert.That(parsed.ContentKey, Is.EqualTo(receipt.ContentKey));
            Assert.That(parsed.Size, Is.EqualTo(12345));
            Assert.That(parsed.CreatedAt, Is.EqualTo(receipt.CreatedAt));
            Assert.That(receipt.ToString(), Does.Not.Contain(receipt.ContentKey.ExportBase64Url()), "ToString never shows the key");
            Assert.That(() => BackupReceipt.ParseRecoveryKit("hello"), Throws.InstanceOf<FormatException>());
            Assert.That(() => BackupReceipt.ParseRecoveryKit(kit.Replace("key:", "kex:", StringComparison.Ordinal)), Throws.InstanceOf<FormatException>().With.Message.Contains("key"));
            Assert.That(() => BackupReceipt.ParseRecoveryKit(kit.Replace("cid: zt", "cid: zz", StringComparison.Ordinal)), Throws.InstanceOf<FormatException>());
            Assert.That(() => BackupReceipt.ParseRecoveryKit(kit + "cid: again\n"), Throws.InstanceOf<FormatException>());
        });
    }

    private async Task<BackupReceipt> BackUpSmallStoreAsync()
    {
        await using var store = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "small.db"));
        await FillAsync(store, 20);
        var receipt = await Service(0).BackupAsync(store, _owner);
        await store.DisposeAsync();
        foreach (var file in Directory.GetFiles(_dir, "small.db*"))
        {
            File.Delete(file);
        }
        return receipt;
    }

    private async Task<string> ExistingTargetAsync()
    {
        var target = Path.Combine(_dir, "target.db");
        await using var store = await SqliteMessageStore.OpenAsync(target);
        await store.SaveMessageAsync(new Message { MessageId = "mine", ConversationId = "c", SenderId = "me", SentAt = DateTimeOffset.UnixEpoch, Body = "keep me" });
        return target;
    }

    private static async Task AssertTargetStillHoldsItsOwnDataAsync(string target)
    {
        await using var store = await SqliteMessageStore.OpenAsync(target);
        Assert.That((await store.GetMessageAsync("mine"))?.Body, Is.EqualTo("keep me"));
    }

    [Test]
    [Platform("Linux", Reason = "Unix file modes and /proc/self/fd")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_snapshot_on_its_way_to_the_mesh_is_readable_by_the_owner_only_and_gone_afterwards(CancellationToken cancellationToken)
    {
        var store = await SqliteMessageStore.OpenAsync(Path.Combine(_dir, "messages.db"), cancellationToken: cancellationToken);
        await using (store)
        {
            await FillAsync(store, 200);
            var seen = new List<Storage.PrivateFiles.Access>();
            // Progress is reported while the mesh reads the snapshot, so the snapshot file is open then.
            var progress = new Reporting(() =>
            {
                if (seen.Count == 0) seen.AddRange(Storage.PrivateFiles.OpenNamed("backup").Select(Storage.PrivateFiles.AccessTo));
            });
            await Service(0).BackupAsync(store, _owner, progress: progress, cancellationToken: cancellationToken);

            TestContext.Out.WriteLine("during the upload: " + string.Join("; ", seen));
            Assert.That(seen, Is.Not.Empty, "the snapshot was open during the upload");
            foreach (var access in seen)
            {
                Assert.That(access.Private, Is.True, access + " holds every message and attachment key");
                var path = access.Path;
                Assert.That(File.Exists(path), Is.False, path + " was removed");
                var directory = Path.GetDirectoryName(path)!;
                if (Path.GetFullPath(directory) != Path.GetFullPath(Path.GetTempPath()))
                    Assert.That(Directory.Exists(directory), Is.False, directory + ", the snapshot's private directory, was removed");
            }
        }
    }

    /// <summary>Calls back on the reporting thread itself (<see cref="Progress{T}"/> would post elsewhere, later).</summary>
    private sealed class Reporting(Action onReport) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value) => onReport();
    }
}
