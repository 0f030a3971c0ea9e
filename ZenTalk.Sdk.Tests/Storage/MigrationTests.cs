using System.Globalization;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class MigrationTests : StoreTestBase
{
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

    [Test]
    public async Task A_version_1_file_with_messages_is_upgraded_and_its_messages_become_searchable()
    {
        var path = Path.Combine(Directory, "v1.db");
        SqliteMessageStore.CreateAtSchemaVersion(path, 1);
        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(1));
        Assert.That(Scalar(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('messages_fts', 'relay_queue')"), Is.EqualTo(0));
        // Rows as release 1 wrote them (keys: Unix ms << 20).
        var ms = Start.ToUnixTimeMilliseconds();
        Execute(path, $"""
            INSERT INTO messages (id, message_id, conversation_id, sender_id, sent_at, body, content_type, status, direction)
            VALUES ({ms << 20}, 'old1', 'c1', 'alice', {ms}, 'legacy greeting from the old version', 'text/plain', 3, 1),
                   ({(ms + 1000) << 20}, 'old2', 'c1', 'alice', {ms + 1000}, 'second legacy line', 'text/plain', 3, 1);
            INSERT INTO conversations (conversation_id, created_at, activity_key, last_message_key, last_message_id, last_preview, last_sender_id, unread_count)
            VALUES ('c1', {ms}, {(ms + 1000) << 20}, {(ms + 1000) << 20}, 'old2', 'second legacy line', 'alice', 2);
            """);

        var store = await OpenAsync(path);

        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(6));
        Assert.That((await store.SearchMessagesAsync("legacy")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "old2", "old1" }));
        Assert.That((await store.GetMessagesAsync("c1")).Items, Has.Count.EqualTo(2));
        Assert.That(await store.CountUnreadAsync("c1"), Is.EqualTo(2));
        Assert.That(await store.SaveMessageAsync(Msg("new", "c1", Start.AddMinutes(1), "fresh legacy")), Is.True);
        Assert.That((await store.SearchMessagesAsync("legacy")).Items, Has.Count.EqualTo(3));
        Assert.That(await store.EnqueueRelayAsync("e1", "bob", new byte[] { 1 }, TimeSpan.FromHours(1)), Is.True);
    }

    [Test]
    public async Task A_version_2_file_is_upgraded_to_the_latest_version()
    {
        var path = Path.Combine(Directory, "v2.db");
        SqliteMessageStore.CreateAtSchemaVersion(path, 2);
        var store = await OpenAsync(path);
        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(6));
        Assert.That(await store.EnqueueRelayAsync("e1", "bob", new byte[] { 1 }, TimeSpan.FromHours(1)), Is.True);
    }

    [Test]
    public async Task A_version_3_file_is_upgraded_and_old_and_new_messages_are_searchable()
    {
        var path = Path.Combine(Directory, "v3.db");
        SqliteMessageStore.CreateAtSchemaVersion(path, 3);
        Assert.That(Scalar(path, "SELECT count(*) FROM sqlite_master WHERE name = 'messages_fts_batch'"), Is.EqualTo(0));
        // A row as release 3 wrote it, indexed by the version-3 trigger.
        var ms = Start.ToUnixTimeMilliseconds();
        Execute(path, $"""
            INSERT INTO messages (id, message_id, conversation_id, sender_id, sent_at, body, content_type, status, direction)
            VALUES ({ms << 20}, 'old1', 'c1', 'alice', {ms}, 'pelican from release three', 'text/plain', 3, 1);
            INSERT INTO conversations (conversation_id, created_at, activity_key, last_message_key, last_message_id, last_preview, last_sender_id, unread_count)
            VALUES ('c1', {ms}, {ms << 20}, {ms << 20}, 'old1', 'pelican from release three', 'alice', 1);
            """);

        var store = await OpenAsync(path);
        Assert.That(await store.SaveMessagesAsync([Msg("b1", "c1", Start.AddMinutes(1), "pelican batch one"), Msg("b2", "c2", Start.AddMinutes(2), "pelican batch two")]), Is.EqualTo(2));
        Assert.That(await store.SaveMessageAsync(Msg("s1", "c1", Start.AddMinutes(3), "pelican single")), Is.True);

        Assert.That(Scalar(path, "PRAGMA user_version"), Is.EqualTo(6));
        Assert.That((await store.SearchMessagesAsync("pelican")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "s1", "b2", "b1", "old1" }));
        Assert.That(await store.CountUnreadAsync("c1"), Is.EqualTo(3));
        Execute(path, "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')");
    }

    [Test]
    public async Task A_file_from_a_newer_version_is_refused_and_left_untouched()
    {
        await Store.SaveMessageAsync(Msg("m1", "c1", Start));
        await Store.DisposeAsync();
        Execute(StorePath, "PRAGMA user_version = 99");

        var error = Assert.ThrowsAsync<SchemaVersionException>(() => SqliteMessageStore.OpenAsync(StorePath, Options()));

        Assert.That(error!.FoundVersion, Is.EqualTo(99));
        Assert.That(error.SupportedVersion, Is.EqualTo(6));
        Assert.That(error.Message, Does.Contain("Upgrade"));
        Assert.That(Scalar(StorePath, "PRAGMA user_version"), Is.EqualTo(99));
        Assert.That(Scalar(StorePath, "SELECT count(*) FROM messages"), Is.EqualTo(1));
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
