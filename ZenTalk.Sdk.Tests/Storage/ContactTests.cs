using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class ContactTests : StoreTestBase
{
    [Test]
    public async Task Upsert_adds_then_updates_and_keeps_the_first_added_time()
    {
        var added = await Store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice", PublicKey = [1, 2, 3] });
        Clock.Advance(TimeSpan.FromDays(2));
        var updated = await Store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice Liddell", AddedAt = Start.AddYears(5) });

        Assert.Multiple(() =>
        {
            Assert.That(added.AddedAt, Is.EqualTo(Start));
            Assert.That(updated.AddedAt, Is.EqualTo(Start));
            Assert.That(updated.UpdatedAt, Is.EqualTo(Start.AddDays(2)));
            Assert.That(updated.DisplayName, Is.EqualTo("Alice Liddell"));
            Assert.That(updated.PublicKey, Is.EqualTo(new byte[] { 1, 2, 3 }), "a known key is kept when the update carries none");
        });
        var read = await Store.GetContactAsync("alice");
        Assert.That(read, Is.Not.Null);
        Assert.That(read!.DisplayName, Is.EqualTo("Alice Liddell"));
        Assert.That(await Store.GetContactAsync("nobody"), Is.Null);
    }

    [Test]
    public async Task List_is_ordered_by_name_and_search_matches_parts_of_names_literally()
    {
        foreach (var (id, name) in new[] { ("1", "bob"), ("2", "Alice"), ("3", "Carol_100%"), ("4", "Alicia"), ("5", "Carol1000") })
        {
            await Store.UpsertContactAsync(new Contact { ContactId = id, DisplayName = name });
        }

        Assert.That((await Store.ListContactsAsync()).Select(c => c.DisplayName), Is.EqualTo(new[] { "Alice", "Alicia", "bob", "Carol1000", "Carol_100%" }));
        Assert.That((await Store.ListContactsAsync("ALI")).Select(c => c.ContactId), Is.EqualTo(new[] { "2", "4" }));
        Assert.That((await Store.ListContactsAsync("_100%")).Select(c => c.ContactId), Is.EqualTo(new[] { "3" }));
        Assert.That(await Store.ListContactsAsync("zzz"), Is.Empty);
    }

    [Test]
    public async Task Block_favourite_and_delete_report_unknown_contacts()
    {
        await Store.UpsertContactAsync(new Contact { ContactId = "bob", DisplayName = "Bob" });

        Assert.That(await Store.SetContactBlockedAsync("bob", true), Is.True);
        Assert.That(await Store.SetContactFavoriteAsync("bob", true), Is.True);
        var bob = await Store.GetContactAsync("bob");
        Assert.That(bob!.IsBlocked && bob.IsFavorite, Is.True);

        Assert.That(await Store.SetContactBlockedAsync("bob", false), Is.True);
        Assert.That((await Store.GetContactAsync("bob"))!.IsBlocked, Is.False);
        Assert.That(await Store.SetContactBlockedAsync("nobody", true), Is.False);
        Assert.That(await Store.SetContactFavoriteAsync("nobody", true), Is.False);

        Assert.That(await Store.DeleteContactAsync("bob"), Is.True);
        Assert.That(await Store.DeleteContactAsync("bob"), Is.False);
        Assert.That(await Store.GetContactAsync("bob"), Is.Null);
    }

    [Test]
    public async Task Incoming_messages_from_a_blocked_contact_are_flagged_and_not_unread()
    {
        await Store.UpsertContactAsync(new Contact { ContactId = "spammer", DisplayName = "Spam" });
        await Store.SaveMessageAsync(Msg("before", "c1", Start, sender: "spammer"));
        await Store.SetContactBlockedAsync("spammer", true);

        await Store.SaveMessagesAsync([Msg("after", "c1", Start.AddSeconds(1), sender: "spammer"), Msg("friend", "c1", Start.AddSeconds(2), sender: "friend")]);

        Assert.That((await Store.GetMessageAsync("before"))!.IsFromBlockedContact, Is.False);
        Assert.That((await Store.GetMessageAsync("after"))!.IsFromBlockedContact, Is.True);
        Assert.That((await Store.GetMessageAsync("friend"))!.IsFromBlockedContact, Is.False);
        Assert.That(await Store.CountUnreadAsync("c1"), Is.EqualTo(2));
    }

    [Test]
    public void Invalid_contacts_are_rejected()
    {
        Assert.That(() => Store.UpsertContactAsync(null!), Throws.InstanceOf<ArgumentNullException>().With.Property("ParamName").EqualTo("contact"));
        Assert.That(() => Store.UpsertContactAsync(new Contact { ContactId = "", DisplayName = "x" }), Throws.ArgumentException.With.Property("ParamName").EqualTo("contact"));
        Assert.That(() => Store.GetContactAsync(" "), Throws.ArgumentException.With.Property("ParamName").EqualTo("contactId"));
    }
}
