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
/// </summary>
internal static class MeshLoopTool
{
    public static int Run(string[] args)
    {
        if (args is ["holders", ..]) return HoldersAsync(Option(args, "root")).GetAwaiter().GetResult();
        if (args.Length == 0 || args[0] is not ("store" or "fetch"))
        {
            Console.Error.WriteLine("usage: meshloop store|fetch [--operations N] [--gap-ms N] [--size BYTES] [--warmup N] [--root DIR] [--split] [--nodes N] [--latency-ms D]");
            return 2;
        }

        int operations = int.Parse(Option(args, "operations") ?? "200", CultureInfo.InvariantCulture);
        int gap = int.Parse(Option(args, "gap-ms") ?? "0", CultureInfo.InvariantCulture);
        int size = int.Parse(Option(args, "size") ?? "262144", CultureInfo.InvariantCulture);
        int warmup = int.Parse(Option(args, "warmup") ?? "500", CultureInfo.InvariantCulture);
        int nodes = int.Parse(Option(args, "nodes") ?? "15", CultureInfo.InvariantCulture);
        int latency = int.Parse(Option(args, "latency-ms") ?? "0", CultureInfo.InvariantCulture);
        return RunAsync(args[0] == "store", operations, gap, size, warmup, Option(args, "root"), args.Contains("--split"), nodes, latency).GetAwaiter().GetResult();
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static async Task<int> RunAsync(bool store, int operations, int gapMs, int size, int warmup, string? root, bool split,
        int nodes, int latencyMs)
    {
        var attachment = RandomNumberGenerator.GetBytes(size);
        using var owner = OwnerKey.Create();
        var options = new LocalMeshOptions { RepairInterval = Timeout.InfiniteTimeSpan };
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
                    RepairInterval = Timeout.InfiniteTimeSpan,
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

            var stored = await storer.StoreAsync(new MemoryStream(attachment, writable: false), owner);
            async Task Operation()
            {
                if (store)
                {
                    await storer.StoreAsync(new MemoryStream(attachment, writable: false), owner);
                    return;
                }

                var stream = await fetcher.RetrieveAsync(stored.Cid, stored.ContentKey);
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
                var holdersBefore = holders?.Cpu() ?? TimeSpan.Zero;
                for (int i = 0; i < operations; i++)
                {
                    if (gapMs > 0) await Task.Delay(gapMs);
                    long start = Stopwatch.GetTimestamp();
                    await Operation();
                    latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }

                process.Refresh();
                var cpu = process.TotalProcessorTime - cpuBefore;
                string holdersCpu = holders is null ? ""
                    : string.Create(CultureInfo.InvariantCulture, $", holders' process {(holders.Cpu() - holdersBefore).TotalMilliseconds / operations:F2} ms");

                Array.Sort(latencies);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(store ? "store" : "fetch")} {size / 1024} KiB, gap {gapMs} ms{(split ? ", split" : "")}{(latencyMs > 0 ? $", {nodes} nodes, latency {latencyMs} ms" : "")}: p50 {latencies[operations / 2]:F2} ms, p99 {latencies[(int)(operations * 0.99)]:F2} ms, CPU {cpu.TotalMilliseconds / operations:F2} ms per operation{holdersCpu} ({operations} operations)"));
            }
        }
        finally
        {
            if (client is not null) await client.DisposeAsync();
            if (Directory.Exists(clientDirectory)) Directory.Delete(clientDirectory, recursive: true);
            holders?.Dispose();
            if (mesh is not null) await mesh.DisposeAsync();
            if (ownRoot is not null && Directory.Exists(ownRoot)) Directory.Delete(ownRoot, recursive: true);
        }

        return 0;
    }

    /// <summary>The child side of <c>--split</c>: a 15-node mesh that answers <c>cpu</c> with its CPU time in milliseconds and
    /// stops on <c>quit</c> or when its standard input closes.</summary>
    private static async Task<int> HoldersAsync(string? root)
    {
        var options = new LocalMeshOptions { RepairInterval = Timeout.InfiniteTimeSpan };
        string? ownRoot = root is null ? null : Path.Combine(root, "zentalk-meshloop-" + Guid.NewGuid().ToString("N"));
        if (ownRoot is not null) options.RootDirectory = ownRoot;
        try
        {
            await using var mesh = await LocalMesh.StartAsync(15, options);
            Console.WriteLine("ready " + mesh.Nodes[0].BootstrapAddress);
            using var process = Process.GetCurrentProcess();
            while (await Console.In.ReadLineAsync() is { } line && line != "quit")
            {
                process.Refresh();
                Console.WriteLine(process.TotalProcessorTime.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture));
            }
        }
        finally
        {
            if (ownRoot is not null && Directory.Exists(ownRoot)) Directory.Delete(ownRoot, recursive: true);
        }

        return 0;
    }

    /// <summary>This program again, as <c>meshloop holders</c>, with a line protocol on its standard streams.</summary>
    private sealed class HoldersProcess : IDisposable
    {
        private readonly Process _process;

        private HoldersProcess(Process process, string bootstrapAddress)
        {
            _process = process;
            BootstrapAddress = bootstrapAddress;
        }

        public string BootstrapAddress { get; }

        public static HoldersProcess Start(string? root)
        {
            string self = Environment.ProcessPath ?? throw new InvalidOperationException("no path to this program");
            List<string> arguments = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [typeof(MeshLoopTool).Assembly.Location] : [];
            arguments.AddRange(["meshloop", "holders"]);
            if (root is not null) arguments.AddRange(["--root", root]);
            var psi = new ProcessStartInfo(self, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the holders' process");
            var line = process.StandardOutput.ReadLine();
            if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
            {
                process.Kill();
                process.Dispose();
                throw new InvalidOperationException("the holders' process did not start: " + line);
            }

            return new HoldersProcess(process, line["ready ".Length..]);
        }

        public TimeSpan Cpu()
        {
            _process.StandardInput.WriteLine("cpu");
            _process.StandardInput.Flush();
            var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the holders' process exited");
            return TimeSpan.FromMilliseconds(double.Parse(line, CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30))) _process.Kill();
            _process.Dispose();
        }
    }
}
