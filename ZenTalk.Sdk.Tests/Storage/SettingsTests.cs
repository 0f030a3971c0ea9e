using System.Globalization;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class SettingsTests : StoreTestBase
{
    private long RowsOnDisk()
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM settings";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task Values_round_trip_as_bytes_and_strings_and_survive_reopening()
    {
        byte[] blob = [0, 255, 1, 254, 0];
        await Store.SetSettingAsync("blob", blob);
        await Store.SetSettingAsync("empty", ReadOnlyMemory<byte>.Empty);
        await Store.SetSettingStringAsync("theme", "dark ☾");
        await Store.SetSettingStringAsync("Theme", "case matters");
        await Store.DisposeAsync();

        var store = await OpenAsync(StorePath);
        Assert.Multiple(async () =>
        {
            Assert.That(await store.GetSettingAsync("blob"), Is.EqualTo(blob));
            Assert.That(await store.GetSettingAsync("empty"), Is.Not.Null.And.Empty);
            Assert.That(await store.GetSettingStringAsync("theme"), Is.EqualTo("dark ☾"));
            Assert.That(await store.GetSettingStringAsync("Theme"), Is.EqualTo("case matters"));
            Assert.That(await store.GetSettingAsync("unknown"), Is.Null);
        });
    }

    [Test]
    public async Task Setting_again_replaces_value_and_expiry_and_remove_says_whether_there_was_one()
    {
        await Store.SetSettingStringAsync("k", "cached", TimeSpan.FromMinutes(1));
        await Store.SetSettingStringAsync("k", "permanent");
        Clock.Advance(TimeSpan.FromDays(365));
        Assert.That(await Store.GetSettingStringAsync("k"), Is.EqualTo("permanent"), "the second set dropped the expiry");

        Assert.That(await Store.RemoveSettingAsync("k"), Is.True);
        Assert.That(await Store.RemoveSettingAsync("k"), Is.False);
        Assert.That(await Store.GetSettingAsync("k"), Is.Null);
    }

    [Test]
    public async Task A_cache_entry_is_visible_until_its_expiry_and_invisible_from_then_on()
    {
        await Store.SetSettingStringAsync("avatar", "png", TimeSpan.FromMinutes(10));
        Clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        Assert.That(await Store.GetSettingStringAsync("avatar"), Is.EqualTo("png"));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(await Store.GetSettingStringAsync("avatar"), Is.Null);
        Assert.That(await Store.RemoveSettingAsync("avatar"), Is.False, "an expired entry counts as absent");
    }

    [Test]
    public async Task Expired_entries_are_collected_by_writes_and_by_purge_and_settings_stay()
    {
        await Store.SetSettingStringAsync("language", "de");
        for (var i = 0; i < 100; i++)
        {
            await Store.SetSettingStringAsync($"cache:{i}", "x", TimeSpan.FromSeconds(1 + (i % 2)));
        }
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(RowsOnDisk(), Is.EqualTo(101));

        await Store.SetSettingStringAsync("other", "y");
        Assert.That(RowsOnDisk(), Is.EqualTo(102 - 32), "a write removes up to 32 expired entries on its way");

        Assert.That(await Store.PurgeExpiredSettingsAsync(), Is.EqualTo(50 - 32));
        Assert.That(RowsOnDisk(), Is.EqualTo(52));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await Store.PurgeExpiredSettingsAsync(), Is.EqualTo(50));
        Assert.That(await Store.PurgeExpiredSettingsAsync(), Is.Zero);
        Assert.That(await Store.GetSettingStringAsync("language"), Is.EqualTo("de"));
        Assert.That(await Store.GetSettingStringAsync("other"), Is.EqualTo("y"));
        Assert.That(RowsOnDisk(), Is.EqualTo(2));
    }

    [Test]
    public void Bad_keys_and_lifetimes_are_refused()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Store.GetSettingAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("key"));
            Assert.That(() => Store.SetSettingAsync(null!, new byte[1]), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("key"));
            Assert.That(() => Store.SetSettingAsync("k", new byte[1], TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timeToLive"));
            Assert.That(() => Store.RemoveSettingAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("key"));
            Assert.That(() => Store.SetSettingStringAsync("k", null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("value"));
        });
    }

    [Test]
    public async Task A_cancelled_call_changes_nothing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(() => Store.SetSettingStringAsync("k", "v", cancellationToken: cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(() => Store.GetSettingAsync("k", cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await Store.GetSettingAsync("k"), Is.Null);
    }
}
