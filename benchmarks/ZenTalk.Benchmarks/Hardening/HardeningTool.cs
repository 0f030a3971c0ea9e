using System.Diagnostics;
using System.Globalization;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.Hardening.Faults;

namespace ZenTalk.Benchmarks.Hardening;

/// <summary>
/// Long runs of the hardening drivers that the tests run briefly (ZenTalk.Sdk.Tests/Hardening/Drivers, compiled in here):
/// <code>
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening fuzz  [--cases 1000000] [--seed 1]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening crash [--iterations 100] [--seed 1] [--writer path/to/ZenTalk.Sdk.Tests.CrashWriter.dll]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening soak  [--seconds 300]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening memory [--seconds 120] [--writer path/to/ZenTalk.Sdk.Tests.CrashWriter.dll]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening faults [--phase-seconds 20] [--files 40] [--seed 1]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening churn [--seconds 180] [--seed 1]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- hardening outside [--seconds 30] [--nodes 12] [--node path/to/ZenTalk.StorageNode.dll] [--hostile path/to/ZenTalk.HostilePeer.dll]
/// </code>
/// <c>memory</c> runs a storing node in a child process (the CrashWriter's node mode) under hostile load and prints its
/// RSS and managed heap; it fails when an honest call fails after the load. <c>outside</c> floods one node of a mesh of
/// <c>zentalk-node</c> processes from the hostile program (<see cref="OutsideFlood"/>); it fails past issue 16's bounds.
/// Both programs are taken from their build output (the tests' build makes both).
/// Exit code 1 when any crash, invariant violation, lost write or error was found.
/// </summary>
public static class HardeningTool
{
    /// <summary>Runs one hardening command; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: hardening fuzz|crash|soak|memory|faults|churn|outside [--cases N] [--iterations N] [--seconds N] [--phase-seconds N] [--files N] [--seed S] [--writer PATH] [--nodes N] [--node PATH] [--hostile PATH]");
            return 2;
        }
        string Option(string name, string fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        long Number(string name, long fallback) => long.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int seed = (int)Number("seed", 1);
        var dir = Path.Combine(Path.GetTempPath(), "zt-hardening-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var clock = Stopwatch.StartNew();
        try
        {
            bool clean = args[0] switch
            {
                "fuzz" => FuzzAsync(Number("cases", 1_000_000), seed, dir).GetAwaiter().GetResult(),
                "crash" => CrashAsync((int)Number("iterations", 100), seed, dir, Option("writer", FindWriter())).GetAwaiter().GetResult(),
                "soak" => SoakAsync(TimeSpan.FromSeconds(Number("seconds", 300)), dir).GetAwaiter().GetResult(),
                "memory" => MemoryAsync(TimeSpan.FromSeconds(Number("seconds", 120)), dir, Option("writer", FindWriter())).GetAwaiter().GetResult(),
                "faults" => FaultsAsync(new FaultScenarioOptions
                {
                    PhaseDuration = TimeSpan.FromSeconds(Number("phase-seconds", 20)),
                    InitialFiles = (int)Number("files", 40),
                    Seed = seed,
                    RepairBudget = TimeSpan.FromSeconds(Number("repair-budget", 300)),
                }).GetAwaiter().GetResult(),
                "outside" => OutsideAsync(new OutsideFloodOptions
                {
                    NodeTool = Option("node", FromRoot("ZenTalk.StorageNode", "ZenTalk.StorageNode.dll")),
                    HostilePeer = Option("hostile", FromRoot("tests/ZenTalk.HostilePeer", "ZenTalk.HostilePeer.dll")),
                    Directory = dir,
                    Nodes = (int)Number("nodes", 12),
                    Duration = TimeSpan.FromSeconds(Number("seconds", 30)),
                }).GetAwaiter().GetResult(),
                "churn" => ChurnAsync(new MeshChurnOptions { Duration = TimeSpan.FromSeconds(Number("seconds", 180)), Seed = seed }).GetAwaiter().GetResult(),
                _ => throw new ArgumentException($"unknown hardening command '{args[0]}'", nameof(args)),
            };
            Console.WriteLine($"{args[0]} finished in {clock.Elapsed.TotalSeconds:0} s: {(clean ? "clean" : "FINDINGS ABOVE")}");
            return clean ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                Console.Error.WriteLine("could not remove " + dir);
            }
        }
    }

    private static bool Print(FuzzReport report)
    {
        Console.WriteLine(report);
        foreach (var crash in report.Crashes) Console.WriteLine("  " + crash);
        return report.CrashCount == 0;
    }

    private static async Task<bool> FuzzAsync(long cases, int seed, string dir)
    {
        bool clean = Print(await FrameFuzzer.RunAsync(seed, cases));
        clean &= Print(await RequestFuzzer.RunAsync(seed + 1, cases));
        clean &= Print(ParserFuzzer.RunCid(seed + 2, cases));
        clean &= Print(ParserFuzzer.RunManifest(seed + 3, Math.Max(1, cases / 5)));
        clean &= Print(await BackupStreamFuzzer.RunAsync(dir, seed + 4, Math.Max(1, cases / 400)));
        clean &= Print(await ShardRequestFuzzer.RunAsync(Directory.CreateDirectory(Path.Combine(dir, "shard-requests")).FullName, seed + 5, cases));
        return clean;
    }

    private static async Task<bool> CrashAsync(int iterations, int seed, string dir, string writer)
    {
        if (!File.Exists(writer)) throw new FileNotFoundException("Build the tests first (dotnet build ZenTalk.Sdk.Tests -c Release) or pass --writer.", writer);
        var reports = new[]
        {
            await CrashScenarios.ShardsAsync(writer, Directory.CreateDirectory(Path.Combine(dir, "shards")).FullName, iterations, seed),
            await CrashScenarios.MessagesAsync(writer, Path.Combine(Directory.CreateDirectory(Path.Combine(dir, "messages")).FullName, "messages.db"), iterations, seed + 1),
            await CrashScenarios.RestoreAsync(writer, Directory.CreateDirectory(Path.Combine(dir, "restore")).FullName, iterations, seed + 2),
        };
        foreach (var r in reports)
        {
            Console.WriteLine(r);
            foreach (var v in r.Violations) Console.WriteLine("  " + v);
        }
        return reports.All(r => r.Violations.Count == 0);
    }

    private static async Task<bool> SoakAsync(TimeSpan duration, string dir)
    {
        var report = await MessageStoreSoak.RunAsync(Path.Combine(dir, "soak.db"), duration);
        Console.WriteLine(report);
        foreach (var e in report.FirstErrors) Console.WriteLine("  " + e);
        return report.ErrorCount == 0 && report.LostMessages == 0 && report.LostEnvelopes == 0 && report.DoubleLeases == 0
               && report.BusyLeaked == 0 && report.RelayAcked == report.RelayEnqueued;
    }

    private static async Task<bool> MemoryAsync(TimeSpan duration, string dir, string writer)
    {
        if (!File.Exists(writer)) throw new FileNotFoundException("Build the tests first (dotnet build ZenTalk.Sdk.Tests -c Release) or pass --writer.", writer);
        await using var node = await NodeChild.StartAsync(writer, Directory.CreateDirectory(Path.Combine(dir, "node")).FullName);
        var idle = await node.MeasureAsync(collect: true);
        Console.WriteLine("idle:  " + idle);
        var report = await HostileLoad.RunAsync(node.EndPoint, node.Id, node.MeasureAsync, new HostileLoadOptions { Duration = duration });
        Console.WriteLine(report);
        Console.WriteLine("after: " + await node.MeasureAsync(collect: true));
        return report.HonestAfterFailed == 0 && report.HonestOk > 0;
    }

    private static async Task<bool> FaultsAsync(FaultScenarioOptions options)
    {
        var report = await FaultScenario.RunAsync(options, Console.WriteLine);
        Console.WriteLine(report);
        return report.Lost.Count == 0 && report.Mismatches == 0 && report.MaxDown <= 5
               && report.RepairAfterFaults is not null && report.RepairAfterKillingFive is not null;
    }

    private static async Task<bool> ChurnAsync(MeshChurnOptions options)
    {
        var report = await MeshChurnSoak.RunAsync(options, Console.WriteLine);
        Console.WriteLine(report);
        return report.Lost.Count == 0 && report.Mismatches == 0;
    }

    private static async Task<bool> OutsideAsync(OutsideFloodOptions options)
    {
        foreach (var (path, flag) in new[] { (options.NodeTool, "--node"), (options.HostilePeer, "--hostile") })
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"Build the tests first (dotnet build ZenTalk.Sdk.Tests -c Release) or pass {flag}.", path);
        }
        var report = await OutsideFlood.RunAsync(options, Console.WriteLine);
        Console.WriteLine(report);
        return report.RssGrowth <= 256L << 20 && report.Hostile.ShardBytesKept <= 16L << 20 && report.StoredGrowth <= (16L << 20) + (report.HonestBytes * 3 / 2)
               && report.HonestFailures == 0 && report.HonestMismatches == 0;
    }

    // The CrashWriter is built next to the tests; find it from the repository root.
    private static string FindWriter() => Root() is { } root
        ? Path.Combine(root, "ZenTalk.Sdk.Tests", "bin", "Release", "net10.0", "ZenTalk.Sdk.Tests.CrashWriter.dll")
        : CrashChild.DefaultPath;

    /// <summary>A program's Release build output under the repository root (or the current folder when there is none).</summary>
    private static string FromRoot(string project, string dll) => Path.Combine(Root() ?? ".", project, "bin", "Release", "net10.0", dll);

    private static string? Root()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "ZenTalk.Sdk.sln"))) return d.FullName;
        }
        return null;
    }
}
