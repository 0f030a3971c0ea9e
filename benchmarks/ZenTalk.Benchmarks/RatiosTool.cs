using System.Globalization;
using ZenTalk.Benchmarks.Erasure;
using ZenTalk.Benchmarks.Mesh;

namespace ZenTalk.Benchmarks;

/// <summary>
/// <c>-- ratios</c>: the performance targets of the mesh's data path as ratios measured in one run, with the load
/// average: (1) Reed-Solomon 10 + 5 on one thread against klauspost/reedsolomon (the <c>erasurepeer</c> mode's rounds),
/// (2) a 64 MiB store's and retrieve's client CPU against the file pipeline's over the same bytes
/// (<see cref="ClientCpuRatios"/>). Prints each part's tables, then one summary table.
/// <code>
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- ratios [--only erasure|client] [--rounds N (7)]
///     [--warmup N (70)] [--size BYTES (64 MiB)] [--peer path/to/klauspost_bench.sh]
/// dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- ratios --loop store|retrieve|retrieve-by-tag|encode|decode|floor-store|floor-store-unacked|floor-retrieve
///     [--rounds N] [--warmup N] [--allocations]
/// </code>
/// <c>--loop</c> runs one of the client part's operations alone, with the same setup (for a profiler attached to the process);
/// <c>--allocations</c> adds a count of its allocations by type, and of the requests it sends by kind.
/// </summary>
internal static class RatiosTool
{
    public static int Run(string[] args)
    {
        string? only = Option(args, "only");
        int rounds = int.Parse(Option(args, "rounds") ?? "7", CultureInfo.InvariantCulture);
        int warmup = Option(args, "warmup") is { } w ? int.Parse(w, CultureInfo.InvariantCulture) : ClientCpuRatios.DefaultWarmupRounds;
        int size = int.Parse(Option(args, "size") ?? (64 << 20).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        string? peer = Option(args, "peer");
        string? loop = Option(args, "loop");
        if (only is not (null or "erasure" or "client") || rounds < 1 || warmup < 0 || size < 1 || (loop is not null && !ClientCpuRatios.LoopKinds.Contains(loop)))
        {
            Console.Error.WriteLine("usage: ratios [--only erasure|client] [--rounds N (7)] [--warmup N (70)] [--size BYTES (67108864)] [--peer path/to/klauspost_bench.sh]");
            Console.Error.WriteLine($"       ratios --loop {string.Join('|', ClientCpuRatios.LoopKinds)} [--rounds N] [--warmup N] [--size BYTES] [--allocations]  (one operation alone, for a profiler; --allocations counts its allocations by type and its requests by kind)");
            return 2;
        }

        if (loop is not null)
        {
            ClientCpuRatios.MeasureAsync(size, warmup, rounds, loop, args.Contains("--allocations")).GetAwaiter().GetResult();
            return 0;
        }

        string loadBefore = ErasurePeerTool.LoadAverage();
        var peerRatios = new List<ErasurePeerTool.PeerRatio>();
        if (only is null or "erasure")
        {
            List<string> peerArgs = ["--rounds", rounds.ToString(CultureInfo.InvariantCulture)];
            if (peer is not null) peerArgs.AddRange(["--peer", peer]);
            int code = ErasurePeerTool.Run([.. peerArgs], peerRatios);
            if (code != 0) return code;
        }

        ClientCpuRatios.Result? client = null;
        if (only is null or "client")
        {
            client = ClientCpuRatios.MeasureAsync(size, warmup, rounds).GetAwaiter().GetResult();
            ClientCpuRatios.Print(client, size);
        }

        Console.WriteLine();
        Console.WriteLine($"Summary (load average before: {loadBefore}; after: {ErasurePeerTool.LoadAverage()})");
        Console.WriteLine();
        Console.WriteLine("| Target | Measured: median of the rounds (best round or window) | Goal | Met |");
        Console.WriteLine("|---|---:|---:|---|");
        foreach (var r in peerRatios)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| 1. ZenTalk / klauspost, {r.Operation}, {r.Shard} shards | {r.Median:F2}x ({r.Best:F2}x) | >= 1.0x | {Met(r.Median >= 1.0, r.Best >= 1.0)} |"));
        }

        if (client is not null)
        {
            string mib = $"{size >> 20} MiB";
            Row($"2. {mib} store, client CPU / encode pipeline CPU", [.. client.StoreRatios], 1.6);
            Row($"2. {mib} retrieve, client CPU / decode pipeline CPU", [.. client.RetrieveRatios], 1.5);
            Row($"2. {mib} retrieve by the key's sole holder (tag-verified), client CPU / decode pipeline CPU", [.. client.RetrieveByTagRatios], 1.5);
            Row($"{mib} store, floor / encode pipeline (the best a client can reach here)", [.. client.FloorStoreRatios], null);
            Row($"{mib} retrieve, floor / decode pipeline", [.. client.FloorRetrieveRatios], null);
            Row($"{mib} store, client CPU / floor", [.. client.StoreOverFloor], null);
            Row($"{mib} retrieve, client CPU / floor", [.. client.RetrieveOverFloor], null);
            Row($"{mib} store, client CPU / floor without per-put acknowledgements", [.. client.StoreOverUnackedFloor], null);
            Row($"{mib} decode, {client.SegmentsAhead} segments ahead / {ClientCpuRatios.ShallowSegmentsAhead}", [.. client.DecodeDeepOverShallow], null);
            Row($"{mib} retrieve floor, {client.SegmentsAhead} segments ahead / {ClientCpuRatios.ShallowSegmentsAhead}", [.. client.FloorDeepOverShallow], null);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Ratio of medians (the median CPU of each over the rounds, then divided): store / encode {ErasurePeerTool.Median(client.Store) / ErasurePeerTool.Median(client.Encode):F2}x, retrieve / decode {ErasurePeerTool.Median(client.Retrieve) / ErasurePeerTool.Median(client.Decode):F2}x, store / floor {ErasurePeerTool.Median(client.Store) / ErasurePeerTool.Median(client.FloorStore):F2}x, retrieve / floor {ErasurePeerTool.Median(client.Retrieve) / ErasurePeerTool.Median(client.FloorRetrieve):F2}x."));
        }

        return 0;
    }

    /// <summary>A ratio's row; one without a goal is a reference (the floor), with nothing to meet.</summary>
    private static void Row(string target, List<double> ratios, double? goal)
    {
        double median = ErasurePeerTool.Median(ratios);
        string measured = string.Create(CultureInfo.InvariantCulture, $"| {target} | {median:F2}x ({ratios.Min():F2}x) |");
        Console.WriteLine(goal is { } g
            ? measured + string.Create(CultureInfo.InvariantCulture, $" <= {g:F1}x | {Met(median <= g, ratios.Min() <= g)} |")
            : measured + " | |");
    }

    private static string Met(bool median, bool best) => median && best ? "yes" : median ? "by the median only" : best ? "in the best round only" : "no";

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
