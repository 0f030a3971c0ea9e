// Backup: fill a message store with a few thousand messages, back it up to an embedded loopback mesh, restore it on
// a "new device" (a fresh path, another node) from the recovery kit alone, and compare everything.
// Usage: dotnet run --project samples/Backup [-- --short]
using System.Diagnostics;
using System.Text;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk;
using Backup;
using ZenTalk.Storage;

var shortMode = args.Contains("--short");
var messageCount = shortMode ? 1_000 : 5_000;
var work = Path.Combine(Path.GetTempPath(), $"zentalk-backup-sample-{Guid.NewGuid():N}");
Directory.CreateDirectory(work);
var total = Stopwatch.StartNew();
var step = Stopwatch.StartNew();

void Done(string what)
{
    Console.WriteLine($"  {what} ({step.Elapsed.TotalMilliseconds:F0} ms)");
    step.Restart();
}

try
{
    Console.WriteLine("1. Starting an embedded 15-node mesh on 127.0.0.1");
    await using var mesh = await LocalMesh.StartAsync(15);
    Done($"{mesh.Nodes.Count} nodes up");

    Console.WriteLine($"2. Filling the old phone's store with {messageCount:N0} messages");
    var oldPath = Path.Combine(work, "old-phone", "messages.db");
    using var owner = OwnerKey.Generate();
    await using (var store = await SqliteMessageStore.OpenAsync(oldPath))
    {
        string[] friends = ["alice", "bob", "carol", "dave", "erin", "frank"];
        foreach (var friend in friends)
        {
            await store.UpsertContactAsync(new Contact { ContactId = friend, DisplayName = char.ToUpperInvariant(friend[0]) + friend[1..], PublicKey = Encoding.UTF8.GetBytes($"{friend}-public-key") });
        }
        await store.SetContactFavoriteAsync("alice", true);
        await store.SetContactBlockedAsync("frank", true);
        var start = new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero);
        var messages = Enumerable.Range(0, messageCount).Select(i =>
        {
            var friend = friends[i % friends.Length];
            var incoming = i % 3 != 0;
            return new Message
            {
                MessageId = $"m{i:D6}",
                ConversationId = $"chat-{friend}",
                SenderId = incoming ? friend : "me",
                SentAt = start.AddMinutes(i),
                ReceivedAt = incoming ? start.AddMinutes(i).AddSeconds(2) : null,
                Body = $"Message {i} about {(i % 7 == 0 ? "the café" : "lunch")} with {friend}",
                Direction = incoming ? MessageDirection.Incoming : MessageDirection.Outgoing,
                Status = incoming ? MessageStatus.Delivered : MessageStatus.Sent,
            };
        });
        await store.SaveMessagesAsync(messages);
        await store.SetConversationPinnedAsync("chat-alice", true);
        await store.SetConversationArchivedAsync("chat-erin", true);
        await store.MarkConversationReadAsync("chat-bob");

        // Two real attachments: a small one the store keeps inline, and one above the inline threshold (64 KiB), so the
        // backup also carries an attachment row that points into the mesh.
        var attachments = new AttachmentService(store, mesh.Nodes[0].Store, owner, new AttachmentServiceOptions { SenderId = "me" });
        await attachments.SendAttachmentAsync("chat-alice", new MemoryStream(Encoding.UTF8.GetBytes("shopping list: milk, bread")), "list.txt", "text/plain");
        await attachments.SendAttachmentAsync("chat-carol", new MemoryStream(new byte[100_000]), "zeros.bin", "application/octet-stream");
    }
    Done($"{new FileInfo(oldPath).Length:N0} bytes of database");

    Console.WriteLine("3. Backing the store up to the mesh");
    BackupReceipt receipt;
    var backups = new BackupService(mesh.Nodes[0].Store);
    await using (var store = await SqliteMessageStore.OpenAsync(oldPath))
    {
        receipt = await backups.BackupAsync(store, owner);
    }
    var kitPath = Path.Combine(work, "recovery-kit.txt");
    await File.WriteAllTextAsync(kitPath, receipt.ToRecoveryKit());
    Done($"backup {receipt.Cid}, {receipt.Size:N0} bytes; recovery kit written to {kitPath}");
    Console.WriteLine(string.Join('\n', receipt.ToRecoveryKit().Split('\n').Select(l => l.StartsWith("key:", StringComparison.Ordinal) ? "     key: (secret, 43 characters)" : "     " + l)).TrimEnd());

    Console.WriteLine("4. The new phone restores from the recovery kit through another node");
    var newPath = Path.Combine(work, "new-phone", "messages.db");
    var kit = BackupReceipt.ParseRecoveryKit(await File.ReadAllTextAsync(kitPath));
    await new BackupService(mesh.Nodes[^1].Store).RestoreAsync(kit.Cid, kit.ContentKey, newPath);
    Done($"restored to {newPath}");

    Console.WriteLine("5. Comparing the two stores");
    await using var before = await SqliteMessageStore.OpenAsync(oldPath);
    await using var after = await SqliteMessageStore.OpenAsync(newPath);
    var (a, b) = (await StoreSnapshot.TakeAsync(before), await StoreSnapshot.TakeAsync(after));
    var differences = a.Compare(b);
    if (differences.Count > 0)
    {
        throw new InvalidOperationException("The restored store differs:\n" + string.Join('\n', differences));
    }
    Done($"identical: {a.Messages.Count:N0} messages, {a.Contacts.Count} contacts, {a.Conversations.Count} conversations, {a.Attachments.Count} attachment rows");

    Console.WriteLine($"Done in {total.Elapsed.TotalSeconds:F1} s.");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"Backup sample failed: {e}");
    return 1;
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}
