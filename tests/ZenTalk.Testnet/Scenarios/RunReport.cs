using System.Diagnostics;
using System.Globalization;

namespace ZenTalk.Testnet.Scenarios;

/// <summary>
/// What a run prints: phases with their time on the run's clock, figures, and checks. A check line reads
/// "check <name>: ok" or "check <name>: FAILED (why)"; the run's exit code is 1 when any check failed. The last line
/// is "testnet: N checks, M failed".
/// </summary>
internal sealed class RunReport(Stopwatch clock)
{
    private readonly List<string> _failures = [];
    private int _checks;

    public bool Failed => _failures.Count > 0;

    public IReadOnlyList<string> Failures => _failures;

    private string Stamp => clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture).PadLeft(6);

    /// <summary>Where CPU time goes, sampled at each phase: (nodes, clients, coordinator) seconds so far.</summary>
    public Func<(double Nodes, double Clients, double Coordinator)>? CpuSource { get; set; }

    private (double Nodes, double Clients, double Coordinator, double Wall) _lastCpu;

    public void Phase(string text)
    {
        if (CpuSource is { } source)
        {
            var (n, c, o) = source();
            double wall = clock.Elapsed.TotalSeconds, span = wall - _lastCpu.Wall;
            if (span > 1)
                Write(string.Create(CultureInfo.InvariantCulture,
                    $"[{Stamp} s]    CPU since the last phase ({span:F0} s): nodes {n - _lastCpu.Nodes:F0} s ({(n - _lastCpu.Nodes) / span:F2} cores), clients {c - _lastCpu.Clients:F0} s, coordinator and relays {o - _lastCpu.Coordinator:F0} s; load average {LoadAverage()}"));
            _lastCpu = (n, c, o, wall);
        }
        Write($"[{Stamp} s] == {text}");
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public void Note(string text) => Write($"[{Stamp} s]    {text}");

    public void Figure(string name, string value) => Write($"figure {name}: {value}");

    public bool Check(string name, bool ok, string detail = "")
    {
        _checks++;
        if (!ok) _failures.Add(name);
        Write($"check {name}: {(ok ? "ok" : "FAILED")}{(detail.Length > 0 ? $" ({detail})" : "")}");
        return ok;
    }

    public void Finish() => Write($"testnet: {_checks} checks, {_failures.Count} failed{(Failed ? ": " + string.Join(", ", _failures) : "")}");

    private static void Write(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    public static string Ms(double ms) => ms.ToString("F1", CultureInfo.InvariantCulture) + " ms";

    public static string Seconds(double s) => s.ToString("F1", CultureInfo.InvariantCulture) + " s";

    public static string MiB(long bytes) => (bytes / (1024.0 * 1024)).ToString("F0", CultureInfo.InvariantCulture) + " MiB";
}
