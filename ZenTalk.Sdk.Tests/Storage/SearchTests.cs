using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class SearchTests : StoreTestBase
{
    [SetUp]
    public async Task SaveCorpus()
    {
        await Store.SaveMessagesAsync([
            Msg("m1", "c1", Start, "Let's meet at the café tomorrow"),
            Msg("m2", "c1", Start.AddMinutes(1), "Meeting moved: \"room 42\" (east wing)"),
            Msg("m3", "c2", Start.AddMinutes(2), "Party tonight 🎉🎉 bring snacks!"),
            Msg("m4", "c2", Start.AddMinutes(3), "Naïve question about the Zürich office"),
            Msg("m5", "c1", Start.AddMinutes(4), "unrelated text"),
        ]);
    }

    private async Task<string[]> Ids(string query, string? conversation = null) =>
        (await Store.SearchMessagesAsync(query, conversation)).Items.Select(m => m.MessageId).ToArray();

    [Test]
    public async Task Search_finds_words_and_prefixes_newest_first()
    {
        Assert.That(await Ids("meet"), Is.EqualTo(new[] { "m2", "m1" }));
        Assert.That(await Ids("snacks"), Is.EqualTo(new[] { "m3" }));
        Assert.That(await Ids("MEETING room"), Is.EqualTo(new[] { "m2" }));
    }

    [Test]
    public async Task Search_ignores_case_and_diacritics()
    {
        Assert.That(await Ids("cafe"), Is.EqualTo(new[] { "m1" }));
        Assert.That(await Ids("naive zurich"), Is.EqualTo(new[] { "m4" }));
        Assert.That(await Ids("ZÜRICH"), Is.EqualTo(new[] { "m4" }));
    }

    [TestCase("\"room 42\"")]
    [TestCase("room\" \"42")]
    [TestCase("(room) 42*")]
    [TestCase("room: 42!!!")]
    [TestCase("room:42")]
    [TestCase("🎉 room 🎉 42 ✨")]
    [TestCase("{room, 42}")]
    [TestCase("room^ 42-")]
    public async Task Search_with_punctuation_quotes_operators_and_emoji_is_safe(string query)
    {
        Assert.That(await Ids(query), Is.EqualTo(new[] { "m2" }));
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("🎉🎉")]
    [TestCase("\"\"\"")]
    [TestCase("*")]
    [TestCase("- + ( ) : ^")]
    public async Task Query_without_words_returns_an_empty_page(string query)
    {
        var page = await Store.SearchMessagesAsync(query);
        Assert.That(page.Items, Is.Empty);
        Assert.That(page.NextCursor, Is.Null);
    }

    [Test]
    public async Task Search_can_be_limited_to_one_conversation()
    {
        await Store.SaveMessageAsync(Msg("m6", "c2", Start.AddMinutes(5), "meet me in c2"));
        Assert.That(await Ids("meet", "c2"), Is.EqualTo(new[] { "m6" }));
        Assert.That(await Ids("meet", "c1"), Is.EqualTo(new[] { "m2", "m1" }));
    }

    [Test]
    public async Task Search_results_page_without_gaps_or_repeats()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 47).Select(i => Msg($"p{i}", $"c{i % 3}", Start.AddHours(1).AddSeconds(i), $"paging test number {i}")));
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Store.SearchMessagesAsync("paging", limit: 10, cursor: cursor);
            ids.AddRange(page.Items.Select(m => m.MessageId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.That(ids, Is.EqualTo(Enumerable.Range(0, 47).Reverse().Select(i => $"p{i}")));
    }

    [Test]
    public async Task Operator_words_are_plain_words()
    {
        await Store.SaveMessageAsync(Msg("ops", "c3", Start.AddHours(2), "cats AND dogs or NOT birds near"));
        Assert.That(await Ids("and NOT or NEAR"), Is.EqualTo(new[] { "ops" }));
    }

    [Test]
    public void Match_expression_quotes_every_word_as_a_prefix()
    {
        Assert.That(SqliteMessageStore.ToMatchExpression("he said \"hi\" -- OR x*"), Is.EqualTo("\"he\"* \"said\"* \"hi\"* \"OR\"* \"x\"*"));
        Assert.That(SqliteMessageStore.ToMatchExpression("🎉!?"), Is.Null);
    }
}
