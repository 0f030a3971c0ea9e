// ZenTalk.Storage quickstart: creates a message store in a temporary directory, saves messages in two
// conversations, pages and searches them, backs the store up and restores it as a new device would, and prints
// each step. Run with: dotnet run --project samples/StorageQuickstart
using System.Diagnostics;
using ZenTalk.Storage;

var directory = Path.Combine(Path.GetTempPath(), "zentalk-quickstart-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(directory);
var clock = Stopwatch.StartNew();
try
{
    var path = Path.Combine(directory, "messages.db");
    await using var store = await SqliteMessageStore.OpenAsync(path);
    Console.WriteLine($"Opened a message store at {path}");

    await store.UpsertContactAsync(new Contact { ContactId = "alice", DisplayName = "Alice" });
    await store.UpsertContactAsync(new Contact { ContactId = "bob", DisplayName = "Bob" });

    var start = DateTimeOffset.UtcNow.AddHours(-1);
    var lines = new[]
    {
        ("alice", "Hi! Are we still on for the café tomorrow?"),
        ("me", "Yes — 10:00 at the usual place."),
        ("alice", "Great, I'll bring the photos from Zürich 📷"),
        ("me", "Can't wait to see them!"),
        ("alice", "Also: \"budget.xlsx\" is attached in the other chat."),
    };
    var messages = lines.Select((line, i) => new Message
    {
        MessageId = $"alice-chat-{i}",
        ConversationId = "chat-alice",
        SenderId = line.Item1,
        SentAt = start.AddMinutes(i),
        Body = line.Item2,
        Direction = line.Item1 == "me" ? MessageDirection.Outgoing : MessageDirection.Incoming,
        Status = line.Item1 == "me" ? MessageStatus.Sent : MessageStatus.Delivered,
    }).ToList();
    messages.Add(new Message
    {
        MessageId = "bob-chat-0",
        ConversationId = "chat-bob",
        SenderId = "bob",
        SentAt = start.AddMinutes(30),
        Body = "Here is the budget file",
        Direction = MessageDirection.Incoming,
        Status = MessageStatus.Delivered,
        Attachments =
        [
            new Attachment
            {
                Cid = "example-cid-budget",
                ContentKey = new byte[32],
                FileName = "budget.xlsx",
                MimeType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                Size = 18_432,
                Sha256 = new byte[32],
            },
        ],
    });

    var saved = await store.SaveMessagesAsync(messages);
    var again = await store.SaveMessagesAsync(messages);
    Console.WriteLine($"Saved {saved} messages in 2 conversations in one transaction; saving them again stored {again} (dedupe).");

    foreach (var conversation in (await store.ListConversationsAsync()).Items)
    {
        Console.WriteLine($"  {conversation.ConversationId}: {conversation.UnreadCount} unread, last: \"{conversation.LastMessagePreview}\"");
    }

    Console.WriteLine("Paging chat-alice, newest first, 2 per page:");
    string? cursor = null;
    var pageNumber = 1;
    do
    {
        var page = await store.GetMessagesAsync("chat-alice", limit: 2, cursor: cursor);
        Console.WriteLine($"  page {pageNumber++}: " + string.Join(" | ", page.Items.Select(m => $"{m.SenderId}: {m.Body}")));
        cursor = page.NextCursor;
    }
    while (cursor is not null);

    foreach (var query in new[] { "cafe", "zur", "\"budget", "photos 📷!" })
    {
        var hits = await store.SearchMessagesAsync(query);
        Console.WriteLine($"Search {query,-12} -> {hits.Items.Count} hit(s): " + string.Join(" | ", hits.Items.Select(m => m.Body)));
    }

    var read = await store.MarkConversationReadAsync("chat-alice");
    Console.WriteLine($"Marked {read} messages read; unread now: {await store.CountUnreadAsync()} in total.");

    using var backup = new MemoryStream();
    await store.BackupAsync(backup);
    Console.WriteLine($"Backed up the store: {backup.Length:N0} bytes (header, SQLite snapshot, SHA-256 trailer).");

    var restoredPath = Path.Combine(directory, "new-device", "messages.db");
    backup.Position = 0;
    await SqliteMessageStore.RestoreAsync(backup, restoredPath);
    await using var restored = await SqliteMessageStore.OpenAsync(restoredPath);
    var original = (await store.GetMessagesAsync("chat-alice", 50)).Items.Select(m => m.Body);
    var copy = (await restored.GetMessagesAsync("chat-alice", 50)).Items.Select(m => m.Body);
    var attachments = await restored.GetConversationAttachmentsAsync("chat-bob");
    Console.WriteLine($"Restored to {restoredPath}: messages identical = {original.SequenceEqual(copy)}, attachments in chat-bob: {attachments.Count} ({attachments[0].Attachment.FileName}).");

    var truncated = new MemoryStream(backup.ToArray(), 0, (int)backup.Length / 2);
    try
    {
        await SqliteMessageStore.RestoreAsync(truncated, restoredPath);
    }
    catch (BackupFormatException e)
    {
        Console.WriteLine($"A truncated backup is refused: {e.Message}");
    }
    Console.WriteLine($"Done in {clock.ElapsedMilliseconds} ms.");
}
finally
{
    Directory.Delete(directory, recursive: true);
}
