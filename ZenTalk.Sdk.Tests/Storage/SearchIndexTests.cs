using System.Globalization;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

/// <summary>
/// The full-text index stays exactly in step with the messages whichever path wrote them: batches index their rows
/// themselves (the insert trigger stands aside inside the batch's transaction), everything else by trigger.
/// </summary>
public sealed class SearchIndexTests : StoreTestBase
{
    private long Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>FTS5's own check: fails with SQLITE_CORRUPT_VTAB when the index differs from the messages' bodies.</summary>
    private void AssertIndexMatchesMessages() =>
        Assert.DoesNotThrow(() => Scalar("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"));

    [Test]
    public async Task A_batch_with_duplicates_indexes_each_new_message_exactly_once()
    {
        await Store.SaveMessageAsync(Msg("m0", "c1", Start, "walrus before the batch"));
        var batch = Enumerable.Range(1, 300)
            .Select(i => Msg($"m{i}", $"c{i % 7}", Start.AddSeconds(i), $"walrus number {i}"))
            .Append(Msg("m0", "c1", Start, "walrus duplicate of a stored message"))
            .Append(Msg("m5", "c5", Start.AddSeconds(5), "walrus duplicate inside the batch"))
            .ToList();

        Assert.That(await Store.SaveMessagesAsync(batch), Is.EqualTo(300));

        Assert.That(Scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'walrus'"), Is.EqualTo(301));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'duplicate'"), Is.EqualTo(0));
        Assert.That((await Store.SearchMessagesAsync("number 150")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "m150" }));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts_batch"), Is.EqualTo(0));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task Messages_sharing_a_millisecond_in_a_batch_are_all_indexed()
    {
        var batch = Enumerable.Range(0, 50).Select(i => Msg($"same{i}", "c1", Start, $"narwhal {i}")).ToList();

        Assert.That(await Store.SaveMessagesAsync(batch), Is.EqualTo(50));
        await Store.DisposeAsync();
        var reopened = await OpenAsync(StorePath);
        // After a reopen the key sequence restarts, so these collide with stored keys and retry.
        Assert.That(await reopened.SaveMessagesAsync(Enumerable.Range(50, 50).Select(i => Msg($"same{i}", "c1", Start, $"narwhal {i}"))), Is.EqualTo(50));

        Assert.That(Scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'narwhal'"), Is.EqualTo(100));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task After_a_batch_other_writers_are_indexed_by_the_trigger()
    {
        await Store.SaveMessagesAsync([Msg("b1", "c1", Start, "heron"), Msg("b2", "c1", Start.AddSeconds(1), "heron")]);
        var ms = Start.AddMinutes(1).ToUnixTimeMilliseconds();

        // Another tool writing the file directly, with no knowledge of the store.
        Scalar($"""
            INSERT INTO messages (id, message_id, conversation_id, sender_id, sent_at, body, content_type, status, direction)
            VALUES ({ms << 20}, 'raw1', 'c1', 'bob', {ms}, 'heron from outside', 'text/plain', 3, 1) RETURNING id
            """);
        await Store.SaveMessageAsync(Msg("s1", "c1", Start.AddMinutes(2), "heron single"));

        Assert.That((await Store.SearchMessagesAsync("heron")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "s1", "raw1", "b2", "b1" }));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task A_batch_that_fails_midway_stores_nothing_and_leaves_the_trigger_on()
    {
        // A trigger that aborts the insert of one particular message, halfway through the batch.
        Scalar("CREATE TRIGGER test_abort BEFORE INSERT ON messages WHEN new.message_id = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END; SELECT 0");
        var batch = new[] { Msg("ok1", "c1", Start, "osprey"), Msg("boom", "c1", Start.AddSeconds(1), "osprey"), Msg("ok2", "c1", Start.AddSeconds(2), "osprey") };

        Assert.ThrowsAsync<MessageStoreException>(() => Store.SaveMessagesAsync(batch));

        Assert.That(Scalar("SELECT count(*) FROM messages"), Is.EqualTo(0));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts_batch"), Is.EqualTo(0));
        Assert.That(await Store.SaveMessageAsync(Msg("s1", "c1", Start.AddMinutes(1), "osprey single")), Is.True);
        Assert.That((await Store.SearchMessagesAsync("osprey")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "s1" }));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task Single_saves_are_indexed_together_every_64_saves_and_found_at_once()
    {
        // A search settles the pending count a freshly opened store does not know yet.
        await Store.SearchMessagesAsync("anything");
        for (var i = 0; i < 70; i++)
        {
            await Store.SaveMessageAsync(Msg($"s{i}", "c1", Start.AddSeconds(i), $"puffin {i}"));
        }

        Assert.That(Scalar("SELECT count(*) FROM messages_fts_pending"), Is.EqualTo(6));
        Assert.That((await Store.SearchMessagesAsync("puffin", limit: 100)).Items, Has.Count.EqualTo(70));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts_pending"), Is.EqualTo(0));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task Editing_and_deleting_messages_not_yet_indexed_keeps_the_index_exact()
    {
        await Store.SaveMessageAsync(Msg("e1", "c1", Start, "original gannet text"));
        await Store.SaveMessageAsync(Msg("d1", "c1", Start.AddSeconds(1), "doomed gannet text"));

        Assert.That(await Store.EditMessageAsync("e1", "rewritten cormorant text"), Is.True);
        await Store.SaveMessageAsync(Msg("d2", "c1", Start.AddSeconds(2), "another doomed gannet"));
        Assert.That(await Store.DeleteMessageAsync("d1"), Is.True);
        Assert.That(await Store.DeleteMessageAsync("d2"), Is.True);

        Assert.That(await Store.SearchMessagesAsync("gannet"), Has.Property("Items").Empty);
        Assert.That((await Store.SearchMessagesAsync("cormorant")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "e1" }));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task Closing_the_store_indexes_pending_saves()
    {
        await Store.SaveMessageAsync(Msg("s1", "c1", Start, "kittiwake"));
        await Store.SaveMessageAsync(Msg("s2", "c1", Start.AddSeconds(1), "kittiwake"));

        await Store.DisposeAsync();

        Assert.That(Scalar("SELECT count(*) FROM messages_fts_pending"), Is.EqualTo(0));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'kittiwake'"), Is.EqualTo(2));
        AssertIndexMatchesMessages();
    }

    [Test]
    public async Task Saves_left_unindexed_by_a_crash_are_indexed_after_reopening()
    {
        await Store.DisposeAsync();
        // The state a process leaves when it dies after single saves and before indexing them.
        var ms = Start.ToUnixTimeMilliseconds();
        Scalar($"""
            INSERT INTO messages_fts_pending (id) VALUES ({ms << 20});
            INSERT INTO messages (id, message_id, conversation_id, sender_id, sent_at, body, content_type, status, direction)
            VALUES ({ms << 20}, 'crash1', 'c1', 'bob', {ms}, 'shearwater before the crash', 'text/plain', 3, 1);
            SELECT 0
            """);
        Assert.That(Scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'shearwater'"), Is.EqualTo(0));

        var reopened = await OpenAsync(StorePath);
        // Same millisecond: its first key is the pending one, so the save must retry without touching that record.
        Assert.That(await reopened.SaveMessageAsync(Msg("after", "c1", Start, "shearwater after the crash")), Is.True);

        Assert.That((await reopened.SearchMessagesAsync("shearwater")).Items.Select(m => m.MessageId), Is.EqualTo(new[] { "after", "crash1" }));
        Assert.That(Scalar("SELECT count(*) FROM messages_fts_pending"), Is.EqualTo(0));
        AssertIndexMatchesMessages();
    }
}
