using System.Globalization;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class RecipientTests : StoreTestBase
{
    [Test]
    public async Task A_direct_and_a_group_message_keep_their_recipients_in_order_through_get_page_and_search()
    {
        await Store.SaveMessageAsync(Msg("d1", "alice-bob", Start, "direct pelican", sender: "alice") with { RecipientIds = ["bob"] });
        await Store.SaveMessagesAsync(
        [
            Msg("g1", "team", Start.AddSeconds(1), "group pelican") with { RecipientIds = ["zoe", "bob", "émile", "李"] },
            Msg("n1", "team", Start.AddSeconds(2), "no recipients pelican"),
        ]);

        Assert.That((await Store.GetMessageAsync("d1"))!.RecipientIds, Is.EqualTo(new[] { "bob" }));
        Assert.That((await Store.GetMessageAsync("g1"))!.RecipientIds, Is.EqualTo(new[] { "zoe", "bob", "émile", "李" }));
        Assert.That((await Store.GetMessageAsync("n1"))!.RecipientIds, Is.Empty);
        var page = await Store.GetMessagesAsync("team");
        Assert.That(page.Items.Select(m => string.Join("|", m.RecipientIds)), Is.EqualTo(new[] { "", "zoe|bob|émile|李" }));
        var found = await Store.SearchMessagesAsync("pelican");
        Assert.That(found.Items.Select(m => (m.MessageId, string.Join("|", m.RecipientIds))),
            Is.EqualTo(new[] { ("n1", ""), ("g1", "zoe|bob|émile|李"), ("d1", "bob") }));
    }

    [Test]
    public async Task Recipients_survive_reopening_the_file_and_sqlite_can_query_them()
    {
        await Store.SaveMessageAsync(Msg("g1", "team", Start) with { RecipientIds = ["bob", "carol"] });
        await Store.SaveMessageAsync(Msg("g2", "team", Start.AddSeconds(1)) with { RecipientIds = ["carol"] });
        await Store.DisposeAsync();

        using (var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM messages m WHERE EXISTS (SELECT 1 FROM json_each(m.recipients) WHERE value = 'bob')";
            Assert.That(Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture), Is.EqualTo(1));
        }
        var reopened = await OpenAsync(StorePath);
        Assert.That((await reopened.GetMessageAsync("g1"))!.RecipientIds, Is.EqualTo(new[] { "bob", "carol" }));
        Assert.That((await reopened.GetMessageAsync("g2"))!.RecipientIds, Is.EqualTo(new[] { "carol" }));
    }

    [Test]
    public async Task Empty_repeated_or_null_recipients_are_refused_and_nothing_is_saved()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Store.SaveMessageAsync(Msg("x1", "c", Start) with { RecipientIds = [" "] }),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("message").And.Message.Contain("empty id"));
            Assert.That(() => Store.SaveMessageAsync(Msg("x2", "c", Start) with { RecipientIds = ["bob", "carol", "bob"] }),
                Throws.ArgumentException.With.Message.Contain("'bob' twice"));
            Assert.That(() => Store.SaveMessageAsync(Msg("x3", "c", Start) with { RecipientIds = null! }),
                Throws.ArgumentException.With.Message.Contain("RecipientIds"));
            Assert.That(() => Store.SaveMessagesAsync([Msg("x4", "c", Start), Msg("x5", "c", Start) with { RecipientIds = ["a", ""] }]),
                Throws.ArgumentException.With.Property("ParamName").EqualTo("messages"));
        });
        Assert.That((await Store.GetMessagesAsync("c")).Items, Is.Empty);
    }

    [Test]
    public async Task A_recipient_list_damaged_by_another_program_is_reported_as_corruption()
    {
        await Store.SaveMessageAsync(Msg("g1", "team", Start) with { RecipientIds = ["bob"] });
        using (var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE messages SET recipients = '{\"not\": \"a list\"}'";
            command.ExecuteNonQuery();
        }

        Assert.That(() => Store.GetMessageAsync("g1"), Throws.InstanceOf<StoreCorruptedException>().With.Message.Contain("recipient list"));
    }
}
