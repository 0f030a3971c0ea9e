using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// Stores or fetches a file (a 256 KiB attachment by default) through a 15-node <see cref="LocalMesh"/> in a plain loop, outside
/// BenchmarkDotNet, and prints latency percentiles with the process CPU time per operation — the figures that say
/// how much of a store is CPU, and what idle gaps between operations cost (wake-ups of parked threads):
/// <code>
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- meshloop store|fetch [--operations 200] [--gap-ms 0]
///     [--size 262144] [--warmup 500] [--root DIR]
/// </code>
/// <c>--warmup</c> operations first (tiered JIT settles); then three rounds of <c>--operations</c>, each preceded (operation by
/// operation) by a pause of <c>--gap-ms</c>. For 64 MiB: <c>--size 67108864 --warmup 10 --operations 10</c>.
/// </summary>
internal static class MeshLoopTool
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("store" or "fetch"))
        {
            Console.Error.WriteLine("usage: meshloop store|fetch [--operations N] [--gap-ms N] [--size BYTES] [--warmup N] [--root DIR]");
            return 2;
        }

        int operations = int.Parse(Option(args, "operations") ?? "200", CultureInfo.InvariantCulture);
        int gap = int.Parse(Option(args, "gap-ms") ?? "0", CultureInfo.InvariantCulture);
        int size = int.Parse(Option(args, "size") ?? "262144", CultureInfo.InvariantCulture);
        int warmup = int.Parse(Option(args, "warmup") ?? "500", CultureInfo.InvariantCulture);
        return RunAsync(args[0] == "store", operations, gap, size, warmup, Option(args, "root")).GetAwaiter().GetResult();
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task<int> RunAsync(bool store, int operations, int gapMs, int size, int warmup, string? root)
    {
        var attachment = RandomNumberGenerator.GetBytes(size);
        using var owner = OwnerKey.Create();
        var options = new LocalMeshOptions { RepairInterval = Timeout.InfiniteTimeSpan };
        string? ownRoot = root is null ? null : Path.Combine(root, "zentalk-meshloop-" + Guid.NewGuid().ToString("N"));
        if (ownRoot is not null) options.RootDirectory = ownRoot;
        try
        {
            await using var mesh = await LocalMesh.StartAsync(15, options);
            var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(attachment, writable: false), owner);
            async Task Operation()
            {
                if (store)
                {
                    await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(attachment, writable: false), owner);
                    return;
                }

                var stream = await mesh.Nodes[9].Store.RetrieveAsync(stored.Cid, stored.ContentKey);
                await using (stream) await stream.CopyToAsync(Stream.Null);
            }

            for (int i = 0; i < warmup; i++) await Operation();
            using var process = Process.GetCurrentProcess();
            for (int round = 0; round < 3; round++)
            {
                var latencies = new double[operations];
                // CPU per round, not per operation: reading it costs more than the gaps it would measure. The pauses
                // cost next to nothing (the process sleeps), so the round's CPU over its operations is theirs.
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                for (int i = 0; i < operations; i++)
                {
                    if (gapMs > 0) await Task.Delay(gapMs);
                    long start = Stopwatch.GetTimestamp();
                    await Operation();
                    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                process.Refresh();
                var cpu = process.TotalProcessorTime - cpuBefore;

                Array.Sort(latencies);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(store ? "store" : "fetch")} {size / 1024} KiB, gap {gapMs} ms: p50 {latencies[operations / 2]:F2} ms, p99 {latencies[(int)(operations * 0.99)]:F2} ms, CPU {cpu.TotalMilliseconds / operations:F2} ms per operation ({operations} operations)"));
            }
        }
        finally
        {
            if (ownRoot is not null && Directory.Exists(ownRoot)) Directory.Delete(ownRoot, recursive: true);
        }

        return 0;
    }
}
