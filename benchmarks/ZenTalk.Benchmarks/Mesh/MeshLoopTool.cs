using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

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
/// <para>
/// <c>--split</c> puts the 15 storing nodes in a child process and runs the operations through a client that does not
/// store for others (<see cref="LocalMesh.StartClientAsync"/>'s kind of node) in this one, and prints each process's CPU
/// per operation: what the device that stores or fetches spends, apart from what its 15 holders spend (which a real
/// mesh spreads over 15 other machines, and which here share the same cores).
/// </para>
/// <para>
/// <c>--nodes N</c> starts N nodes instead of 15; <c>--latency-ms D</c> makes every node's outbound connections wait D ms
/// before each read and write (the fault proxy of the hardening runs), so round trips, not CPU, set the pace: how a
/// store or fetch behaves on a network with real latency. Both apply to the in-process mesh only.
/// </para>
/// <para>
/// <c>--owner-key rsa|ecdsa|both</c> picks the owner key the files are stored under: RSA-3072 (RSASSA-PSS, the default) or
/// ECDSA P-256. <c>both</c> alternates the two in blocks of ten operations within every round, so that both see the same
/// machine, and prints each one's figures and their ratio per round.
/// </para>
/// </summary>
internal static class MeshLoopTool
{
    public static int Run(string[] args)
    {
        if (args is ["holders", ..]) return HoldersProcess.ServeAsync(Option(args, "root")).GetAwaiter().GetResult();
        if (args.Length == 0 || args[0] is not ("store" or "fetch"))
        {
            Console.Error.WriteLine("usage: meshloop store|fetch [--operations N] [--gap-ms N] [--size BYTES] [--warmup N] [--root DIR] [--split] [--nodes N] [--latency-ms D] [--owner-key rsa|ecdsa|both]");
            return 2;
        }

        int operations = int.Parse(Option(args, "operations") ?? "200", CultureInfo.InvariantCulture);
        int gap = int.Parse(Option(args, "gap-ms") ?? "0", CultureInfo.InvariantCulture);
        int size = int.Parse(Option(args, "size") ?? "262144", CultureInfo.InvariantCulture);
        int warmup = int.Parse(Option(args, "warmup") ?? "500", CultureInfo.InvariantCulture);
        int nodes = int.Parse(Option(args, "nodes") ?? "15", CultureInfo.InvariantCulture);
        int latency = int.Parse(Option(args, "latency-ms") ?? "0", CultureInfo.InvariantCulture);
        OwnerKeyAlgorithm[]? kinds = (Option(args, "owner-key") ?? "rsa") switch
        {
            "rsa" => [OwnerKeyAlgorithm.Rsa],
            "ecdsa" => [OwnerKeyAlgorithm.EcdsaP256],
            "both" => [OwnerKeyAlgorithm.Rsa, OwnerKeyAlgorithm.EcdsaP256],
            _ => null,
        };
        if (kinds is null)
        {
            Console.Error.WriteLine("--owner-key is rsa, ecdsa or both");
            return 2;
        }

        return RunAsync(args[0] == "store", operations, gap, size, warmup, Option(args, "root"), args.Contains("--split"), nodes, latency, kinds)
            .GetAwaiter().GetResult();
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string Name(OwnerKeyAlgorithm kind) => kind == OwnerKeyAlgorithm.Rsa ? "RSA-3072" : "ECDSA P-256";

    private static async Task<int> RunAsync(bool store, int operations, int gapMs, int size, int warmup, string? root, bool split,
        int nodes, int latencyMs, OwnerKeyAlgorithm[] kinds)
    {
        const int Block = 10; // operations in a row under one key when two alternate
        var attachment = RandomNumberGenerator.GetBytes(size);
        var owners = kinds.Select(OwnerKey.Generate).ToArray();
        var options = new LocalMeshOptions { Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } } };
        string? ownRoot = root is null ? null : Path.Combine(root, "zentalk-meshloop-" + Guid.NewGuid().ToString("N"));
        if (ownRoot is not null) options.RootDirectory = ownRoot;
        string clientDirectory = Path.Combine(root ?? Path.GetTempPath(), "zentalk-meshloop-client-" + Guid.NewGuid().ToString("N"));
        HoldersProcess? holders = null;
        LocalMesh? mesh = null;
        MeshNode? client = null;
        try
        {
            IMeshStore storer, fetcher;
            if (split)
            {
                holders = HoldersProcess.Start(root);
                client = await MeshNode.StartAsync(new MeshNodeOptions
                {
                    DataDirectory = clientDirectory,
                    BootstrapPeers = [holders.BootstrapAddress],
                    StoreForOthers = false,
                    Repair = { Interval = Timeout.InfiniteTimeSpan },
                });
                storer = fetcher = client.Store;
            }
            else
            {
                var network = latencyMs > 0 ? new ZenTalk.Sdk.Tests.Hardening.Faults.FaultNetwork(seed: 1) : null;
                if (network is not null) options.OutboundTransportFor = network.HookFor;
                mesh = await LocalMesh.StartAsync(nodes, options);
                if (network is not null)
                {
                    network.Learn(mesh);
                    for (int i = 0; i < nodes; i++) network.SetSlow(i, TimeSpan.FromMilliseconds(latencyMs));
                }
                storer = mesh.Nodes[0].Store;
                fetcher = mesh.Nodes[nodes > 9 ? 9 : nodes - 1].Store;
            }

            var stored = new List<StoredFile>();
            foreach (var owner in owners) stored.Add(await storer.StoreAsync(new MemoryStream(attachment, writable: false), owner));
            async Task Operation(int who)
            {
                if (store)
                {
                    await storer.StoreAsync(new MemoryStream(attachment, writable: false), owners[who]);
                    return;
                }

                var stream = await fetcher.RetrieveAsync(stored[who].Cid, stored[who].ContentKey);
                await using (stream) await stream.CopyToAsync(Stream.Null);
            }

            for (int i = 0; i < warmup; i++) await Operation((i / Block) % owners.Length);
            using var process = Process.GetCurrentProcess();
            for (int round = 0; round < 3; round++)
            {
                var latencies = owners.Select(_ => new List<double>(operations)).ToArray();
                // CPU per block of operations under one key, not per operation: reading it costs more than the gaps it
                // would measure. The pauses cost next to nothing (the process sleeps), so a block's CPU is its operations'.
                var cpu = new TimeSpan[owners.Length];
                var holdersCpu = new TimeSpan[owners.Length];
                for (int i = 0; i < operations * owners.Length; i += Block)
                {
                    int who = (i / Block) % owners.Length;
                    process.Refresh();
                    var cpuBefore = process.TotalProcessorTime;
                    var holdersBefore = holders?.Cpu() ?? TimeSpan.Zero;
                    for (int j = 0; j < Math.Min(Block, (operations * owners.Length) - i); j++)
                    {
                        if (gapMs > 0) await Task.Delay(gapMs);
                        long start = Stopwatch.GetTimestamp();
                        await Operation(who);
                        latencies[who].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }

                    process.Refresh();
                    cpu[who] += process.TotalProcessorTime - cpuBefore;
                    if (holders is not null) holdersCpu[who] += holders.Cpu() - holdersBefore;
                }

                var p50 = new double[owners.Length];
                for (int who = 0; who < owners.Length; who++)
                {
                    var sorted = latencies[who].Order().ToArray();
                    int n = sorted.Length;
                    p50[who] = sorted[n / 2];
                    string holdersShare = holders is null ? ""
                        : string.Create(CultureInfo.InvariantCulture, $", holders' process {holdersCpu[who].TotalMilliseconds / n:F2} ms");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{(store ? "store" : "fetch")} {size / 1024} KiB, {Name(kinds[who])} owner, gap {gapMs} ms{(split ? ", split" : "")}{(latencyMs > 0 ? $", {nodes} nodes, latency {latencyMs} ms" : "")}: p50 {sorted[n / 2]:F2} ms, p99 {sorted[(int)(n * 0.99)]:F2} ms, CPU {cpu[who].TotalMilliseconds / n:F2} ms per operation{holdersShare} ({n} operations)"));
                }

                if (owners.Length == 2)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"round {round + 1}: ECDSA P-256 / RSA-3072 = {p50[1] / p50[0]:F2} (p50), {cpu[1] / cpu[0]:F2} (CPU)"));
                }
            }
        }
        finally
        {
            foreach (var owner in owners) owner.Dispose();
            if (client is not null) await client.DisposeAsync();
            if (Directory.Exists(clientDirectory)) Directory.Delete(clientDirectory, recursive: true);
            holders?.Dispose();
            if (mesh is not null) await mesh.DisposeAsync();
            if (ownRoot is not null && Directory.Exists(ownRoot)) Directory.Delete(ownRoot, recursive: true);
        }

        return 0;
    }
}
