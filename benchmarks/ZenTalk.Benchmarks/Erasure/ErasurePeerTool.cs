using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>
/// <c>-- erasurepeer</c>: 10 + 5 encode and reconstruct on one thread, ours against klauspost/reedsolomon v1.12.1 (its
/// GFNI + AVX-512 kernels, built by <c>klauspost_bench.sh</c> from the peers directory) at 64 KiB and 1 MiB shards,
/// measured alternately in one run, and the ratios ours / peer. Each round runs the peer's binary for one window of
/// encode and one of reconstruct, and ours for the same windows in this process, in alternating order; the figures are
/// the best and the median window of the rounds. Both sides count the same way: data bytes (10 × shard size) per
/// second of wall time, reconstruct rebuilding 5 lost data shards from the other 10 (the peer's ReconstructData).
/// Debian's ISA-L (ec_encode_data through P/Invoke, no GFNI kernels) runs in the same rounds as the floor, when
/// libisal.so.2 is installed.
/// </summary>
/// <remarks>
/// On a busy machine wall time mostly measures who got the CPU, so a second table divides the same work by CPU time
/// instead, encode and reconstruct windows together: this thread's CPU time for ours and ISA-L; for the peer, its
/// process's CPU time (getrusage of the reaped child) less its start-up cost (least of three runs with empty
/// windows). The peer's two windows cannot be told apart in its CPU time, hence one figure per shard size. Linux only.
/// </remarks>
internal static unsafe partial class ErasurePeerTool
{
    private const int DataShards = 10, ParityShards = 5, Lost = 5;
    private static readonly int[] ShardSizes = [64 * 1024, 1024 * 1024];

    /// <summary>One row's ratio ours / klauspost: of the best windows and of the medians.</summary>
    internal readonly record struct PeerRatio(string Operation, string Shard, double Best, double Median);

    public static int Run(string[] args) => Run(args, null);

    /// <summary>Runs the comparison and prints its tables; adds each row's ratio to <paramref name="ratios"/> when given.</summary>
    internal static int Run(string[] args, List<PeerRatio>? ratios)
    {
        int rounds = 9;
        double seconds = 0.2;
        string? peer = null;
        for (int a = 0; a < args.Length; a++)
        {
            switch (args[a])
            {
                case "--rounds" when a + 1 < args.Length:
                    rounds = int.Parse(args[++a], CultureInfo.InvariantCulture);
                    break;
                case "--seconds" when a + 1 < args.Length:
                    seconds = double.Parse(args[++a], CultureInfo.InvariantCulture);
                    break;
                case "--peer" when a + 1 < args.Length:
                    peer = args[++a];
                    break;
                default:
                    Console.Error.WriteLine("usage: erasurepeer [--rounds N (9)] [--seconds S per window (0.2)] [--peer path/to/klauspost_bench.sh]");
                    return 2;
            }
        }

        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("erasurepeer runs the peer's bash script and reads Linux CPU clocks: Linux only.");
            return 2;
        }

        peer ??= FindPeerScript();
        if (peer is null || !File.Exists(peer))
        {
            Console.Error.WriteLine("klauspost_bench.sh not found: pass --peer /path/to/shared/peers/klauspost_bench.sh.");
            return 2;
        }

        string loadBefore = LoadAverage();
        var codec = new ReedSolomon(DataShards, ParityShards); // one thread: MaxDegreeOfParallelism defaults to 1
        Console.WriteLine($"Machine: {CpuModel()}, {Environment.ProcessorCount} logical CPUs; {RuntimeInformation.FrameworkDescription}, kernel {codec.Kernel}");
        Console.WriteLine($"Peer:    klauspost/reedsolomon v1.12.1 via {peer} ({GoVersion()})");
        Console.WriteLine(IsaLPeer.IsAvailable ? "Floor:   ISA-L (libisal.so.2, ec_encode_data through P/Invoke)" : "Floor:   ISA-L skipped: libisal.so.2 is not installed (apt-get install libisal2)");
        Console.WriteLine($"Run:     {rounds} rounds x {seconds.ToString(CultureInfo.InvariantCulture)} s windows, ours and the peer alternating; load average before: {loadBefore}");

        // Builds the peer once (the script caches the binary) and checks its output format.
        if (RunPeer(peer, 4096, 0.01) is null)
        {
            return 1;
        }

        byte[] isalEncode = IsaLPeer.IsAvailable ? IsaLPeer.EncodeTables(DataShards, ParityShards) : [];
        byte[] isalDecode = IsaLPeer.IsAvailable ? IsaLPeer.DecodeTables(DataShards, ParityShards, Lost) : [];
        var rows = new List<string>();
        var cpuRows = new List<string>();
        foreach (int size in ShardSizes)
        {
            // The peer's CPU time outside its two windows (start, random shards, first encode): least of three empty runs.
            double startup = double.MaxValue;
            for (int r = 0; r < 3; r++)
            {
                PeerResult? empty = RunPeer(peer, size, 0);
                if (empty is null)
                {
                    return 1;
                }

                startup = Math.Min(startup, empty.Value.CpuSeconds);
            }

            using var shards = new ErasureShards(DataShards + ParityShards, size);
            bool[] present = [.. Enumerable.Range(0, DataShards + ParityShards).Select(i => i >= Lost)];
            byte** isalSources = shards.Pointers + Lost;
            var ours = new Series();
            var theirs = new Series();
            var floor = new Series();
            void OursEncode() => codec.Encode(shards.Memory);
            void OursReconstruct() => codec.ReconstructData(shards.Memory, present);
            void IsaLEncode()
            {
                fixed (byte* t = isalEncode)
                {
                    IsaLPeer.EncodeData(size, DataShards, ParityShards, t, shards.Pointers, shards.Pointers + DataShards);
                }
            }

            void IsaLReconstruct()
            {
                fixed (byte* t = isalDecode)
                {
                    IsaLPeer.EncodeData(size, DataShards, Lost, t, isalSources, shards.Pointers);
                }
            }

            // Warm-up: tiered JIT and the cached decode plan.
            Measure(OursEncode, size, seconds);
            Measure(OursReconstruct, size, seconds);
            for (int round = 0; round < rounds; round++)
            {
                bool peerFirst = round % 2 == 1;
                if (peerFirst && !AddPeer(theirs, peer, size, seconds, startup))
                {
                    return 1;
                }

                ours.Add(Measure(OursEncode, size, seconds), Measure(OursReconstruct, size, seconds));
                if (IsaLPeer.IsAvailable)
                {
                    floor.Add(Measure(IsaLEncode, size, seconds), Measure(IsaLReconstruct, size, seconds));
                }

                if (!peerFirst && !AddPeer(theirs, peer, size, seconds, startup))
                {
                    return 1;
                }
            }

            string label = size >= 1 << 20 ? $"{size >> 20} MiB" : $"{size >> 10} KiB";
            rows.Add(Row("Encode", label, ours.Encode, theirs.Encode, floor.Encode));
            rows.Add(Row("Reconstruct (5 data lost)", label, ours.Reconstruct, theirs.Reconstruct, floor.Reconstruct));
            cpuRows.Add(Row("Encode + reconstruct", label, ours.Cpu, theirs.Cpu, floor.Cpu));
            ratios?.Add(new PeerRatio("Encode, wall time", label, ours.Encode.Max() / theirs.Encode.Max(), Median(ours.Encode) / Median(theirs.Encode)));
            ratios?.Add(new PeerRatio("Reconstruct, wall time", label, ours.Reconstruct.Max() / theirs.Reconstruct.Max(), Median(ours.Reconstruct) / Median(theirs.Reconstruct)));
            ratios?.Add(new PeerRatio("Encode + reconstruct, per CPU-second", label, ours.Cpu.Max() / theirs.Cpu.Max(), Median(ours.Cpu) / Median(theirs.Cpu)));
        }

        Table("GB/s of data (10 x shard size per second of wall time), best window of the rounds (median in brackets); ratios are ours / theirs.", rows);
        Table("The same windows per second of CPU time, encode and reconstruct together (ours and ISA-L: this thread's; klauspost: its process's, start-up subtracted).", cpuRows);

        Console.WriteLine();
        Console.WriteLine($"Load average before: {loadBefore}; after: {LoadAverage()}");
        return 0;
    }

    private static void Table(string caption, List<string> rows)
    {
        Console.WriteLine();
        Console.WriteLine(caption);
        Console.WriteLine();
        Console.WriteLine("| 10 + 5, one thread | Shard | ZenTalk | klauspost | **ZenTalk / klauspost** (medians) | ISA-L | ZenTalk / ISA-L |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (string row in rows)
        {
            Console.WriteLine(row);
        }
    }

    private static string Row(string operation, string size, List<double> ours, List<double> theirs, List<double> floor)
    {
        double ob = ours.Max(), tb = theirs.Max(), om = Median(ours), tm = Median(theirs);
        string isal = floor.Count == 0
            ? "- | -"
            : string.Create(CultureInfo.InvariantCulture, $"{floor.Max():F1} ({Median(floor):F1}) | {ob / floor.Max():F2}x");
        return string.Create(CultureInfo.InvariantCulture,
            $"| {operation} | {size} | {ob:F1} ({om:F1}) | {tb:F1} ({tm:F1}) | **{ob / tb:F2}x** ({om / tm:F2}x) | {isal} |");
    }

    internal static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    // One window: data bytes per second of wall time (as the peer counts them), the bytes, and this thread's CPU seconds.
    private static Window Measure(Action call, int size, double seconds)
    {
        long ticks = (long)(seconds * Stopwatch.Frequency);
        long calls = 0, start = Stopwatch.GetTimestamp(), now;
        double cpuStart = CpuClock.Thread();
        do
        {
            call();
            calls++;
            now = Stopwatch.GetTimestamp();
        }
        while (now - start < ticks);
        double bytes = calls * (double)DataShards * size;
        return new Window(bytes / ((now - start) / (double)Stopwatch.Frequency) / 1e9, bytes, CpuClock.Thread() - cpuStart);
    }

    private static bool AddPeer(Series series, string peer, int size, double seconds, double startup)
    {
        PeerResult? result = RunPeer(peer, size, seconds);
        if (result is null)
        {
            return false;
        }

        // Each of its windows ran for `seconds` of wall time (and one call more).
        double bytes = (result.Value.Encode + result.Value.Reconstruct) * 1e9 * seconds;
        series.Add(result.Value.Encode, result.Value.Reconstruct, bytes / Math.Max(result.Value.CpuSeconds - startup, 1e-3) / 1e9);
        return true;
    }

    private static PeerResult? RunPeer(string peer, int size, double seconds)
    {
        var start = new ProcessStartInfo(peer) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { $"{DataShards}", $"{ParityShards}", size.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        double cpuBefore = CpuClock.Children();
        using var process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        double cpu = CpuClock.Children() - cpuBefore;
        double[] figures = [.. Throughput().Matches(output).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];
        if (process.ExitCode != 0 || figures.Length != 2)
        {
            Console.Error.WriteLine($"The peer failed (exit {process.ExitCode}):\n{output}{error.Result}");
            return null;
        }

        return new PeerResult(figures[0], figures[1], cpu);
    }

    // The peers directory sits beside the repository's checkouts (…/shared/peers): look in every ancestor.
    private static string? FindPeerScript()
    {
        for (string? directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            string candidate = Path.Combine(directory, "shared", "peers", "klauspost_bench.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : RuntimeInformation.ProcessArchitecture.ToString();

    private static string GoVersion()
    {
        try
        {
            using var go = Process.Start(new ProcessStartInfo("go", "version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            string version = go.StandardOutput.ReadToEnd().Trim();
            go.WaitForExit();
            return version;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "go not on PATH yet: the script installs Debian's";
        }
    }

    [GeneratedRegex(@"([\d.]+) GB/s")]
    private static partial Regex Throughput();

    private readonly record struct PeerResult(double Encode, double Reconstruct, double CpuSeconds);

    private readonly record struct Window(double Wall, double Bytes, double CpuSeconds);

    private sealed class Series
    {
        public List<double> Encode { get; } = [];

        public List<double> Reconstruct { get; } = [];

        public List<double> Cpu { get; } = [];

        public void Add(double encode, double reconstruct, double cpu)
        {
            Encode.Add(encode);
            Reconstruct.Add(reconstruct);
            Cpu.Add(cpu);
        }

        public void Add(Window encode, Window reconstruct) =>
            Add(encode.Wall, reconstruct.Wall, (encode.Bytes + reconstruct.Bytes) / (encode.CpuSeconds + reconstruct.CpuSeconds) / 1e9);
    }

    // CPU clocks in seconds: this thread's (clock_gettime) and that of this process's reaped children (getrusage).
    private static partial class CpuClock
    {
        private const int ThreadCpuTimeClock = 3; // CLOCK_THREAD_CPUTIME_ID
        private const int RUsageChildren = -1; // RUSAGE_CHILDREN

        public static double Thread()
        {
            long* time = stackalloc long[2];
            return ClockGetTime(ThreadCpuTimeClock, time) == 0 ? time[0] + time[1] / 1e9 : double.NaN;
        }

        public static double Children()
        {
            long* usage = stackalloc long[18]; // struct rusage: two timevals, then 14 longs
            return GetRUsage(RUsageChildren, usage) == 0 ? usage[0] + usage[1] / 1e6 + usage[2] + usage[3] / 1e6 : double.NaN;
        }

        [LibraryImport("libc", EntryPoint = "clock_gettime")]
        private static partial int ClockGetTime(int clock, long* time);

        [LibraryImport("libc", EntryPoint = "getrusage")]
        private static partial int GetRUsage(int who, long* usage);
    }
}
