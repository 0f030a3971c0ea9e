// SendImage: the README's main demo. An embedded 15-node mesh on loopback, Alice and Bob with their own message
// stores; Alice sends a PNG as an attachment, Bob opens it, verifies it byte for byte and saves it; then 5 nodes
// stop and Bob opens it again. Usage: dotnet run --project samples/SendImage [-- --short] [--out DIR]
using System.Diagnostics;
using System.Security.Cryptography;
using SendImage;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk;
using ZenTalk.Storage;

var shortMode = args.Contains("--short");
var outIndex = Array.IndexOf(args, "--out");
var work = Path.Combine(Path.GetTempPath(), $"zentalk-sendimage-{Guid.NewGuid():N}");
var outDir = outIndex >= 0 && outIndex + 1 < args.Length ? Path.GetFullPath(args[outIndex + 1]) : work;
Directory.CreateDirectory(work);
Directory.CreateDirectory(outDir);
var total = Stopwatch.StartNew();
var step = Stopwatch.StartNew();

void Done(string what)
{
    Console.WriteLine($"  {what} ({step.Elapsed.TotalMilliseconds:F0} ms)");
    step.Restart();
}

try
{
    // 1. A real PNG, made here so the sample ships no binary: a colour gradient with some noise, so it does not
    //    compress to nothing and spans more than one mesh segment.
    Console.WriteLine("1. Alice draws a picture");
    var (width, height) = shortMode ? (640, 480) : (1280, 960);
    var noise = new Random(42);
    var png = PngEncoder.Encode(width, height, (x, y) => (
        (byte)(x * 255 / width), (byte)(y * 255 / height), (byte)(((x ^ y) & 0xFF) / 2 + noise.Next(64))));
    Done($"sunset.png: {width}x{height} PNG, {png.Length:N0} bytes, SHA-256 {Convert.ToHexStringLower(SHA256.HashData(png))[..16]}…");

    Console.WriteLine("2. Starting an embedded 15-node mesh on 127.0.0.1");
    await using var mesh = await LocalMesh.StartAsync(15);
    Done($"{mesh.Nodes.Count} nodes up: {string.Join(", ", mesh.Nodes.Take(3).Select(n => n.Endpoint))}, …");

    // Alice talks to the mesh through node 0, Bob through node 14: they share nothing but the mesh and the message.
    var aliceNode = mesh.Nodes[0];
    var bobNode = mesh.Nodes[^1];
    await using var aliceStore = await SqliteMessageStore.OpenAsync(Path.Combine(work, "alice.db"));
    await using var bobStore = await SqliteMessageStore.OpenAsync(Path.Combine(work, "bob.db"));
    using var aliceKey = OwnerKey.Generate();
    using var bobKey = OwnerKey.Generate();
    var alice = new AttachmentService(aliceStore, aliceNode.Store, aliceKey, new AttachmentServiceOptions { SenderId = "alice" });
    var bob = new AttachmentService(bobStore, bobNode.Store, bobKey, new AttachmentServiceOptions { SenderId = "bob" });

    Console.WriteLine("3. Alice sends the picture to Bob");
    var lastReport = -1L;
    // Reported in order by the mesh; printed as it arrives (Progress<T> would post each line to the thread pool,
    // where they could print out of order).
    var progress = new InlineProgress<TransferProgress>(p =>
    {
        if (p.SegmentsCompleted != lastReport)
        {
            lastReport = p.SegmentsCompleted;
            Console.WriteLine($"     uploaded {p.BytesTransferred:N0} of {p.TotalBytes?.ToString("N0") ?? "?"} bytes, {p.SegmentsCompleted} segment(s) placed");
        }
    });
    using var pngStream = new MemoryStream(png, writable: false);
    var sent = await alice.SendAttachmentAsync("alice-bob", pngStream, "sunset.png", "image/png", "Sunset from the balcony", progress);
    var attachment = sent.Attachments[0];
    Done($"message {sent.MessageId[..8]}… saved in Alice's store; attachment CID {attachment.Cid}");

    Console.WriteLine("4. Where the shards went");
    var status = await aliceNode.Store.GetStatusAsync(Cid.Parse(attachment.Cid!)); // a file this size goes to the mesh, so it has a CID
    var nodeIndex = mesh.Nodes.Select((n, i) => (n.Id, i)).ToDictionary(p => p.Id, p => p.i);
    foreach (var segment in status.Segments)
    {
        var holders = segment.Holders.OrderBy(h => h.ShardIndex)
            .Select(h => $"{h.ShardIndex}→n{(nodeIndex.TryGetValue(h.Node, out var i) ? i : -1)}");
        Console.WriteLine($"     segment {segment.Index}: {segment.ShardsVerified}/{segment.ShardsExpected} shards verified, {segment.Health}: {string.Join(" ", holders)}");
    }
    Done($"health {status.Health}");

    // The messenger's transport (outside this SDK) carries the message, CID and key included, end-to-end
    // encrypted to Bob; here it is handed over directly and saved as an incoming message.
    Console.WriteLine("5. Bob receives the message and lists the conversation");
    await bobStore.SaveMessageAsync(sent with { Direction = MessageDirection.Incoming, Status = MessageStatus.Delivered, ReceivedAt = DateTimeOffset.UtcNow });
    var page = await bobStore.GetMessagesAsync("alice-bob");
    foreach (var m in page.Items)
    {
        Console.WriteLine($"     {m.SentAt:HH:mm:ss} {m.SenderId}: \"{m.Body}\" + {string.Join(", ", m.Attachments.Select(a => $"{a.FileName} ({a.Size:N0} bytes, {a.MimeType})"))}");
    }
    Done($"{page.Items.Count} message(s)");

    Console.WriteLine("6. Bob opens the attachment through his own node and verifies it");
    var received = await ReadAllAsync(bob, sent.MessageId);
    Check(received.AsSpan().SequenceEqual(png), "Bob's copy differs from Alice's picture");
    Check(PngEncoder.IsValid(received), "Bob's copy is not a valid PNG");
    var savedTo = Path.Combine(outDir, "received-sunset.png");
    await File.WriteAllBytesAsync(savedTo, received);
    Done($"{received.Length:N0} bytes, identical to what Alice sent, valid PNG; saved to {savedTo}");

    Console.WriteLine("7. Five nodes that hold shards go offline");
    var victims = status.Segments.SelectMany(s => s.Holders).Select(h => nodeIndex.GetValueOrDefault(h.Node, -1))
        .Where(i => i > 0 && i < mesh.Nodes.Count - 1).Distinct().Take(5).ToList();
    foreach (var i in victims)
    {
        await mesh.StopNodeAsync(i);
    }
    Done($"stopped n{string.Join(", n", victims)}");

    Console.WriteLine("8. Bob opens it again");
    var again = await ReadAllAsync(bob, sent.MessageId);
    Check(again.AsSpan().SequenceEqual(png), "the copy read with 5 nodes down differs");
    Done($"{again.Length:N0} bytes, still identical");

    Console.WriteLine($"Done in {total.Elapsed.TotalSeconds:F1} s.");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"SendImage failed: {e}");
    return 1;
}
finally
{
    // A normal run keeps the received picture to look at; --short (CI) and --out leave nothing in the temp folder.
    if (outDir != work || shortMode)
    {
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
    }
    else
    {
        foreach (var db in Directory.EnumerateFiles(work, "*.db*"))
        {
            try { File.Delete(db); } catch (IOException) { }
        }
    }
}

static async Task<byte[]> ReadAllAsync(AttachmentService service, string messageId)
{
    await using var stream = await service.OpenAttachmentAsync(messageId);
    using var copy = new MemoryStream();
    await stream.CopyToAsync(copy);
    return copy.ToArray();
}

static void Check(bool condition, string failure)
{
    if (!condition)
    {
        throw new InvalidOperationException(failure);
    }
}

/// <summary>Runs the handler on the reporting thread, in the order the reports are made.</summary>
sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
