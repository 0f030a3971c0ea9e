using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class CorruptFileTests : StoreTestBase
{
    [Test]
    public void A_file_of_random_bytes_is_refused_with_a_clear_error()
    {
        var path = Path.Combine(Directory, "random.db");
        var bytes = new byte[64 * 1024];
        new Random(1).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);

        var error = Assert.ThrowsAsync<StoreCorruptedException>(() => SqliteMessageStore.OpenAsync(path, Options()));

        Assert.That(error!.Message, Does.Contain(path).And.Contain("not a SQLite database or is corrupt"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes), "the file is not modified");
    }

    [Test]
    public void A_text_file_is_refused()
    {
        var path = Path.Combine(Directory, "notes.txt");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("just some text, not a database\n", 200)));
        Assert.ThrowsAsync<StoreCorruptedException>(() => SqliteMessageStore.OpenAsync(path, Options()));
    }

    [Test]
    public void A_foreign_sqlite_database_is_refused_and_not_altered()
    {
        var path = Path.Combine(Directory, "foreign.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE photos (id INTEGER PRIMARY KEY, data BLOB); INSERT INTO photos (data) VALUES (x'0102')";
            command.ExecuteNonQuery();
        }

        var error = Assert.ThrowsAsync<StoreCorruptedException>(() => SqliteMessageStore.OpenAsync(path, Options()));

        Assert.That(error!.Message, Does.Contain("not a ZenTalk message store"));
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var count = check.CreateCommand();
        count.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'messages'";
        Assert.That(count.ExecuteScalar(), Is.EqualTo(0L));
    }

    [Test]
    public async Task A_store_whose_header_was_overwritten_is_refused()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 200).Select(i => Msg($"m{i}", "c1", Start.AddSeconds(i), new string('x', 500))));
        await Store.DisposeAsync();
        var bytes = File.ReadAllBytes(StorePath);
        new Random(2).NextBytes(bytes.AsSpan(0, 100));
        File.WriteAllBytes(StorePath, bytes);

        Assert.ThrowsAsync<StoreCorruptedException>(() => SqliteMessageStore.OpenAsync(StorePath, Options()));
    }

    [Test]
    public async Task A_store_with_damaged_pages_is_refused_when_integrity_is_verified_on_open()
    {
        await Store.SaveMessagesAsync(Enumerable.Range(0, 500).Select(i => Msg($"m{i}", "c1", Start.AddSeconds(i), new string('y', 300))));
        await Store.DisposeAsync();
        var bytes = File.ReadAllBytes(StorePath);
        // Garble every page after the first few (the schema survives, the data does not).
        var random = new Random(3);
        for (var page = 8; page < bytes.Length / 4096; page += 3)
        {
            random.NextBytes(bytes.AsSpan(page * 4096, 4096));
        }
        File.WriteAllBytes(StorePath, bytes);
        var options = Options();
        options.VerifyIntegrityOnOpen = true;

        Assert.ThrowsAsync(Is.InstanceOf<MessageStoreException>(), () => SqliteMessageStore.OpenAsync(StorePath, options));
    }

    [Test]
    public void Invalid_open_arguments_are_rejected()
    {
        Assert.That(() => SqliteMessageStore.OpenAsync(""), Throws.ArgumentException.With.Property("ParamName").EqualTo("path"));
        Assert.That(() => SqliteMessageStore.OpenAsync(StorePath, new MessageStoreOptions { MaxReadConnections = 0 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("MaxReadConnections"));
        Assert.That(() => SqliteMessageStore.OpenAsync(StorePath, new MessageStoreOptions { RelayRetryJitter = 2 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("RelayRetryJitter"));
    }

    [Test]
    public async Task A_disposed_store_refuses_further_calls()
    {
        await Store.DisposeAsync();
        Assert.ThrowsAsync<ObjectDisposedException>(() => Store.GetMessageAsync("m1"));
        Assert.ThrowsAsync<ObjectDisposedException>(() => Store.SaveMessageAsync(Msg("m1", "c1", Start)));
    }
}
