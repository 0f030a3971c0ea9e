using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

/// <summary>Each test gets its own directory (removed afterwards), a fake clock and a file-backed store.</summary>
public abstract class StoreTestBase
{
    protected static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<IAsyncDisposable> _stores = [];

    protected string Directory { get; private set; } = "";

    internal FakeTimeProvider Clock { get; private set; } = null!;

    protected SqliteMessageStore Store { get; private set; } = null!;

    protected string StorePath => Path.Combine(Directory, "messages.db");

    [SetUp]
    public async Task CreateStore()
    {
        Directory = Path.Combine(Path.GetTempPath(), "zentalk-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Clock = new FakeTimeProvider(Start);
        Store = await OpenAsync(StorePath);
    }

    [TearDown]
    public async Task RemoveStore()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
        _stores.Clear();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory must not fail the test.
        }
    }

    protected MessageStoreOptions Options() => new() { TimeProvider = Clock };

    protected async Task<SqliteMessageStore> OpenAsync(string path, MessageStoreOptions? options = null)
    {
        var store = await SqliteMessageStore.OpenAsync(path, options ?? Options());
        _stores.Add(store);
        return store;
    }

    protected static Message Msg(string id, string conversation, DateTimeOffset sentAt, string body = "hello",
        MessageDirection direction = MessageDirection.Incoming, string sender = "alice", MessageStatus? status = null) => new()
    {
        MessageId = id,
        ConversationId = conversation,
        SenderId = sender,
        SentAt = sentAt,
        Body = body,
        Direction = direction,
        Status = status ?? (direction == MessageDirection.Incoming ? MessageStatus.Delivered : MessageStatus.Sending),
        ReceivedAt = direction == MessageDirection.Incoming ? sentAt.AddSeconds(1) : null,
    };

    protected static async Task<List<Message>> AllPages(SqliteMessageStore store, string conversation, int pageSize)
    {
        var all = new List<Message>();
        string? cursor = null;
        do
        {
            var page = await store.GetMessagesAsync(conversation, pageSize, cursor);
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return all;
    }
}
