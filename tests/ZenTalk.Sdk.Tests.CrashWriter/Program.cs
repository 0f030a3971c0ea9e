using System.Globalization;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.CrashWriter;

/// <summary>
/// A writer the crash tests kill with SIGKILL. Each mode runs until killed and prints "ready" once open, then one line
/// per write: "start ..." before it begins and "done ..." (or "ack ...") only after its await returned, so the test
/// knows which writes were acknowledged and must survive.
/// <list type="bullet">
/// <item><c>shards &lt;directory&gt; &lt;shard size&gt;</c> (or the legacy <c>&lt;directory&gt; &lt;shard size&gt;</c>): random shard puts.</item>
/// <item><c>messages &lt;database&gt; &lt;first batch&gt; &lt;batch size&gt;</c>: message batches with ids b{batch}-{i}.</item>
/// <item><c>restore &lt;target database&gt; &lt;backup A&gt; &lt;backup B&gt;</c>: restores A and B alternately over the target.</item>
/// <item><c>node &lt;data directory&gt;</c>: a storing mesh node on 127.0.0.1 for the memory-under-hostile-load measurement;
/// prints "ready &lt;endpoint&gt; &lt;node id&gt;", then answers each "stats" line on stdin with its memory figures and
/// stops on "quit" (or when stdin closes). Not killed: a node alone in its process gives a clean RSS figure.</item>
/// </list>
/// </summary>
public static class Program
{
    /// <summary>Runs until killed.</summary>
    public static async Task Main(string[] args)
    {
        switch (args[0])
        {
            case "messages":
                await MessagesAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
                break;
            case "restore":
                await RestoreAsync(args[1], args[2], args[3]);
                break;
            case "node":
                await NodeAsync(args[1]);
                break;
            case "shards":
                await ShardsAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
                break;
            default:
                await ShardsAsync(args[0], int.Parse(args[1], CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    private static async Task ShardsAsync(string directory, int size)
    {
        using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = directory });
        Say("ready");
        while (true)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var hash = Sha256Hash.Compute(data);
            Say("start " + hash);
            await store.PutAsync(hash, data, default);
            Say("done " + hash);
        }
    }

    private static async Task MessagesAsync(string database, int firstBatch, int batchSize)
    {
        await using var store = await SqliteMessageStore.OpenAsync(database);
        Say("ready");
        var sentAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int batch = firstBatch; ; batch++)
        {
            var messages = Enumerable.Range(0, batchSize).Select(i => new Message
            {
                MessageId = $"b{batch}-{i}",
                ConversationId = "c" + (batch % 7),
                SenderId = "writer",
                SentAt = sentAt.AddSeconds((batch * batchSize) + i),
                Body = $"batch {batch} message {i} " + new string('x', i * 7 % 200),
                Direction = MessageDirection.Incoming,
                Status = MessageStatus.Delivered,
            }).ToList();
            await store.SaveMessagesAsync(messages);
            Say("ack " + batch.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static async Task RestoreAsync(string target, string backupA, string backupB)
    {
        Say("ready");
        for (long i = 0; ; i++)
        {
            var (name, path) = i % 2 == 0 ? ("A", backupA) : ("B", backupB);
            Say("start " + name);
            await using (var source = File.OpenRead(path))
                await SqliteMessageStore.RestoreAsync(source, target);
            Say("done " + name);
        }
    }

    private static async Task NodeAsync(string directory)
    {
        await using var node = await MeshNode.StartAsync(new MeshNodeOptions
        {
            DataDirectory = directory,
            Storage = { QuotaBytes = 256L << 20 },
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        });
        Say($"ready {node.Endpoint} {node.Id}");
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            if (line is not ("stats" or "stats-gc")) continue;
            if (line == "stats-gc") GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            var (rss, peak) = ReadRss();
            var info = GC.GetGCMemoryInfo();
            Say(string.Create(CultureInfo.InvariantCulture,
                $"stats rss={rss} peak={peak} heap={GC.GetTotalMemory(false)} committed={info.TotalCommittedBytes} connections={node.Network.Server.ConnectionCount} handshakes={node.Network.Server.HandshakesInProgress} budget={node.Network.Server.BufferedBytesAvailable}"));
        }
    }

    // VmRSS and VmHWM (peak RSS) from /proc on Linux; the working set (and no peak) elsewhere.
    private static (long Rss, long Peak) ReadRss()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return (Environment.WorkingSet, 0);
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
        }

        return (rss, peak);

        static long Kilobytes(string line) =>
            1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
