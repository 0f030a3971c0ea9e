using Microsoft.Data.Sqlite;
using ZenTalk.Storage;
using ZenTalk.Storage.Database;

namespace ZenTalk.Sdk.Tests.Storage;

/// <summary>
/// The message store's files on the device: who can read the database and the backup snapshots, what a restored
/// file may contain, and when a restore may replace a database at all.
/// </summary>
[Platform("Linux", Reason = "Unix file modes and /proc/self/fd")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StoreFileProtectionTests : StoreTestBase
{
    private async Task FillAsync(SqliteMessageStore store)
    {
        await store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice" });
        await store.SaveMessagesAsync(Enumerable.Range(0, 20).Select(i => Msg($"m{i}", "c1", Start.AddSeconds(i), i % 2 == 0 ? "a secret plan" : "lunch?") with
        {
            Attachments = [new Attachment { Cid = $"cid{i}", ContentKey = [(byte)i, 7, 7], FileName = "f.png", Size = 1, Sha256 = new byte[32] }],
        }));
    }

    [Test]
    public async Task The_database_and_its_wal_and_shm_are_created_for_the_owner_only()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start));
        foreach (var file in new[] { StorePath, StorePath + "-wal", StorePath + "-shm" })
            Assert.That(File.GetUnixFileMode(file), Is.EqualTo(PrivateFiles.OwnerOnly), file);
    }

    [Test]
    public async Task A_restored_database_is_for_the_owner_only()
    {
        await FillAsync(Store);
        using var backup = new MemoryStream();
        await Store.BackupAsync(backup);
        var target = Path.Combine(Directory, "restored.db");
        await SqliteMessageStore.RestoreAsync(new MemoryStream(backup.ToArray()), target);
        Assert.That(File.GetUnixFileMode(target), Is.EqualTo(PrivateFiles.OwnerOnly));
    }

    [Test]
    public async Task A_backup_snapshot_is_readable_by_the_owner_only_and_gone_afterwards([Values] bool inMemory)
    {
        var store = inMemory ? await SqliteMessageStore.OpenInMemoryAsync(Options()) : Store;
        try
        {
            await FillAsync(store);
            var seen = new List<PrivateFiles.Access>();
            // While the stream is written, the snapshot file is open: find it and ask who may read it.
            var destination = new PrivateFiles.Watching(() => seen.AddRange(PrivateFiles.OpenNamed("backup").Select(PrivateFiles.AccessTo)));
            await store.BackupAsync(destination);

            TestContext.Out.WriteLine("while the backup was written: " + string.Join("; ", seen));
            Assert.That(seen, Is.Not.Empty, "the snapshot was open while the backup was written");
            foreach (var access in seen)
            {
                Assert.That(access.Private, Is.True, access + " holds every message and attachment key");
            }

            foreach (var path in seen.Select(a => a.Path))
            {
                Assert.That(File.Exists(path), Is.False, path + " was removed");
                Assert.That(File.Exists(path + "-journal"), Is.False, path + "-journal was removed");
                var directory = Path.GetDirectoryName(path)!;
                if (directory != Directory && Path.GetFullPath(directory) != Path.GetFullPath(Path.GetTempPath()))
                    Assert.That(System.IO.Directory.Exists(directory), Is.False, directory + ", the snapshot's private directory, was removed");
            }
        }
        finally
        {
            if (inMemory) await store.DisposeAsync();
        }
    }

    [Test]
    public async Task A_snapshot_left_by_a_crash_is_removed_when_the_store_opens_again()
    {
        await Store.DisposeAsync();
        var leftover = Path.Combine(Directory, ".messages.db.backup-0123456789abcdef0123456789abcdef");
        File.WriteAllBytes(leftover, [1, 2, 3]);
        File.WriteAllBytes(leftover + "-journal", [4]);
        var unrelated = Path.Combine(Directory, ".other.db.backup-0123456789abcdef0123456789abcdef");
        File.WriteAllBytes(unrelated, [5]);

        await OpenAsync(StorePath);

        Assert.That(File.Exists(leftover), Is.False);
        Assert.That(File.Exists(leftover + "-journal"), Is.False);
        Assert.That(File.Exists(unrelated), Is.True, "another database's snapshot is not this store's to remove");
    }

    /// <summary>Runs SQL on a database file with plain SQLite, as any other program could.</summary>
    private static void RunRaw(string path, string sql)
    {
        using var raw = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        raw.Open();
        using var command = raw.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A backup stream of a genuine store file into which <paramref name="tamper"/> was run with plain SQLite.</summary>
    private async Task<byte[]> TamperedBackupAsync(string tamper)
    {
        var path = Path.Combine(Directory, "source", "hostile.db");
        var source = await SqliteMessageStore.OpenAsync(path, Options());
        await FillAsync(source);
        await source.DisposeAsync();
        RunRaw(path, "PRAGMA journal_mode = DELETE; " + tamper);
        using var stream = new MemoryStream();
        await BackupFormat.WriteAsync(path, Migrations.LatestVersion, stream, CancellationToken.None);
        return stream.ToArray();
    }

    [TestCase("CREATE TRIGGER evil AFTER INSERT ON contacts BEGIN DELETE FROM messages; END", TestName = "{m}(an extra trigger)")]
    [TestCase("CREATE VIEW peek AS SELECT body FROM messages", TestName = "{m}(an extra view)")]
    [TestCase("CREATE TABLE extra (x)", TestName = "{m}(an extra table)")]
    [TestCase("CREATE INDEX ix_extra ON messages (body)", TestName = "{m}(an extra index)")]
    [TestCase("DROP TRIGGER messages_fts_update; CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN DELETE FROM attachments; END",
        TestName = "{m}(a trigger of the store's own name doing something else)")]
    [TestCase("DROP INDEX ix_contacts_name", TestName = "{m}(a missing index)")]
    public async Task A_backup_whose_schema_is_not_the_stores_own_is_refused_and_the_target_is_untouched(string tamper)
    {
        var backup = await TamperedBackupAsync(tamper);
        var target = Path.Combine(Directory, "target.db");
        File.WriteAllBytes(target, [1, 2, 3]);

        var error = Assert.ThrowsAsync<BackupFormatException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(backup), target));

        Assert.That(error!.Message, Does.Contain("schema"));
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName), Has.None.Contains("restore"), "no temporary file is left behind");
    }

    [Test]
    public async Task An_untampered_backup_of_every_released_schema_version_restores()
    {
        for (int version = 1; version <= Migrations.LatestVersion; version++)
        {
            var path = Path.Combine(Directory, $"v{version}.db");
            SqliteMessageStore.CreateAtSchemaVersion(path, version);
            RunRaw(path, "PRAGMA journal_mode = DELETE"); // as a backup snapshot is
            using var stream = new MemoryStream();
            await BackupFormat.WriteAsync(path, version, stream, CancellationToken.None);
            var target = Path.Combine(Directory, $"restored-v{version}.db");
            await SqliteMessageStore.RestoreAsync(new MemoryStream(stream.ToArray()), target);
            var reopened = await OpenAsync(target);
            Assert.That(await reopened.SaveMessageAsync(Msg("new", "c1", Start, "searchable words")), Is.True, $"version {version}");
            Assert.That((await reopened.SearchMessagesAsync("searchable")).Items, Has.Count.EqualTo(1), $"version {version}");
        }
    }

    [Test]
    public async Task A_trigger_planted_in_the_database_file_cannot_run_unsafe_sql_through_the_store()
    {
        await FillAsync(Store);
        await Store.DisposeAsync();
        // Runs whenever a contact is saved, and deletes every message a full-text query finds.
        RunRaw(StorePath, """
            CREATE TRIGGER planted AFTER INSERT ON contacts BEGIN
                DELETE FROM messages WHERE id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'secret');
            END
            """);

        var store = await OpenAsync(StorePath);
        Assert.ThrowsAsync<MessageStoreException>(() => store.UpsertContactAsync(new Contact { ContactId = "bob", DisplayName = "Bob" }));
        Assert.That((await store.SearchMessagesAsync("secret")).Items, Has.Count.EqualTo(10), "the planted trigger deleted nothing");
        Assert.That(await store.GetMessageAsync("m0"), Is.Not.Null);
    }

    [Test]
    public async Task Restore_over_a_store_that_is_open_is_refused_and_the_open_store_keeps_its_data()
    {
        await FillAsync(Store);
        var other = await SqliteMessageStore.OpenInMemoryAsync(Options());
        byte[] backup;
        await using (other)
        {
            await other.SaveMessageAsync(Msg("other", "c9", Start));
            using var stream = new MemoryStream();
            await other.BackupAsync(stream);
            backup = stream.ToArray();
        }

        var error = Assert.ThrowsAsync<MessageStoreException>(() => SqliteMessageStore.RestoreAsync(new MemoryStream(backup), StorePath));
        Assert.That(error, Is.Not.InstanceOf<BackupFormatException>());
        Assert.That(error!.Message, Does.Contain("open"));

        Assert.That(File.Exists(StorePath + "-wal"), Is.True, "the open store's write-ahead log is still there");
        Assert.That(await Store.SaveMessageAsync(Msg("after", "c1", Start.AddMinutes(5))), Is.True);
        Assert.That(await Store.GetMessageAsync("m3"), Is.Not.Null);
        Assert.That(await Store.GetMessageAsync("other"), Is.Null);

        // Closed, the same restore goes through.
        await Store.DisposeAsync();
        await SqliteMessageStore.RestoreAsync(new MemoryStream(backup), StorePath);
        var restored = await OpenAsync(StorePath);
        Assert.That(await restored.GetMessageAsync("other"), Is.Not.Null);
        Assert.That(await restored.GetMessageAsync("m3"), Is.Null);
    }
}
