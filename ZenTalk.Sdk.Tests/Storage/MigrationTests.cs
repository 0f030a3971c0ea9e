using System.Globalization;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;
using ZenTalk.Storage.Database;

namespace ZenTalk.Sdk.Tests.Storage;

/// <summary>
/// The released history has one step, so the upgrade path is exercised with a synthetic step 2 defined only here:
/// it is what a future release would append.
/// </summary>
public sealed class MigrationTests : StoreTestBase
{
    private static readonly IReadOnlyList<string> WithStep2 =
    [
        Migrations.Steps[0],
        """
        ALTER TABLE contacts ADD COLUMN nickname TEXT;
        UPDATE contacts SET nickname = lower(display_name);
        CREATE TABLE drafts (conversation_id TEXT PRIMARY KEY, body TEXT NOT NULL);
        """,
    ];

    private static long Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static int Upgrade(string path, IReadOnlyList<string> steps)
    {
        using var connection = StoreConnection.Open($"Data Source={path};Pooling=False", new MessageStoreOptions(), readOnly: false);
        return Migrations.Apply(connection, steps, steps.Count);
    }

    private async Task<string> VersionOneFileWithDataAsync()
    {
        await Store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice" });
        await Store.SaveMessagesAsync([Msg("m1", "c1", Start, "pelican one"), Msg("m2", "c1", Start.AddSeconds(1), "pelican two")]);
        await Store.SetSettingStringAsync("theme", "dark");
        await Store.DisposeAsync();
        Assert.That(Scalar(StorePath, "PRAGMA user_version"), Is.EqualTo(1));
        return StorePath;
    }

    [Test]
    public void A_new_file_is_created_at_the_latest_version_in_one_step()
    {
        Assert.That(Migrations.LatestVersion, Is.EqualTo(1));
        Assert.That(Scalar(StorePath, "PRAGMA user_version"), Is.EqualTo(1));
        Assert.That(Scalar(StorePath, "PRAGMA application_id"), Is.EqualTo(Migrations.ApplicationId));
        Assert.That(Scalar(StorePath, "SELECT count(*) FROM sqlite_master WHERE name IN ('messages', 'attachments', 'contacts', 'conversations', 'messages_fts', 'relay_queue', 'settings')"), Is.EqualTo(7));
    }

    [Test]
    public async Task A_version_1_file_is_upgraded_by_a_later_step_and_keeps_its_data()
    {
        var path = await VersionOneFileWithDataAsync();

        Assert.That(Upgrade(path, WithStep2), Is.EqualTo(1), "the version it had");

        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(2));
        Assert.That(Scalar(path, "SELECT count(*) FROM contacts WHERE nickname = 'alice'"), Is.EqualTo(1), "step 2 ran over the old rows");
        Assert.That(Scalar(path, "SELECT count(*) FROM drafts"), Is.Zero);
        Assert.That(Upgrade(path, WithStep2), Is.EqualTo(2), "a second open has nothing to do");
        Assert.That(Scalar(path, "SELECT count(*) FROM messages"), Is.EqualTo(2));
        Assert.That(Scalar(path, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'pelican'"), Is.EqualTo(2));
    }

    [Test]
    public async Task A_step_that_fails_halfway_leaves_the_file_at_its_old_version_and_the_store_opens_it()
    {
        var path = await VersionOneFileWithDataAsync();
        IReadOnlyList<string> broken =
        [
            Migrations.Steps[0],
            "CREATE TABLE drafts (conversation_id TEXT PRIMARY KEY); ALTER TABLE contacts ADD COLUMN nickname TEXT; INSERT INTO no_such_table VALUES (1);",
        ];

        Assert.That(() => Upgrade(path, broken), Throws.InstanceOf<SqliteException>());

        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(1));
        Assert.That(Scalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'drafts'"), Is.Zero, "the step's first statement was rolled back");
        Assert.That(Scalar(path, "SELECT count(*) FROM pragma_table_info('contacts') WHERE name = 'nickname'"), Is.Zero);
        var store = await OpenAsync(path);
        Assert.That((await store.SearchMessagesAsync("pelican")).Items, Has.Count.EqualTo(2));
        Assert.That(await store.GetSettingStringAsync("theme"), Is.EqualTo("dark"));
    }

    [Test]
    public async Task A_file_from_a_newer_version_is_refused_and_left_untouched()
    {
        var path = await VersionOneFileWithDataAsync();
        Upgrade(path, WithStep2);

        var error = Assert.ThrowsAsync<SchemaVersionException>(() => SqliteMessageStore.OpenAsync(path, Options()));

        Assert.That(error!.FoundVersion, Is.EqualTo(2));
        Assert.That(error.SupportedVersion, Is.EqualTo(1));
        Assert.That(error.Message, Does.Contain("Upgrade"));
        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(2));
        Assert.That(Scalar(path, "SELECT count(*) FROM messages"), Is.EqualTo(2));
        Execute(path, "PRAGMA user_version = 99");
        Assert.That(() => SqliteMessageStore.OpenAsync(path, Options()), Throws.InstanceOf<SchemaVersionException>().With.Property("FoundVersion").EqualTo(99));
    }

    [Test]
    public async Task Reopening_an_up_to_date_store_keeps_its_data()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start, "persisted"));
        await Store.DisposeAsync();
        var reopened = await OpenAsync(StorePath);
        Assert.That((await reopened.GetMessageAsync("m1"))!.Body, Is.EqualTo("persisted"));
        Assert.That((await reopened.SearchMessagesAsync("persisted")).Items, Has.Count.EqualTo(1));
    }
}
