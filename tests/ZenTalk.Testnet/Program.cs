using System.Diagnostics;
using System.Globalization;
using ZenTalk.Testnet.Hosts;
using ZenTalk.Testnet.Scenarios;

namespace ZenTalk.Testnet;

/// <summary>
/// The testnet (docs/testnet.md). Coordinator commands build the network in a private namespace of their own and run a
/// scenario; node and client are the processes it starts inside each host's namespace.
/// <code>
/// ZenTalk.Testnet ci                       the CI-sized fault run (16 nodes, one partition, one kill and restart)
/// ZenTalk.Testnet long [options]           the long fault run (30 nodes, 60 s partition, churn, 5 killed at once)
/// ZenTalk.Testnet measure [options]        store and fetch timings on a quiet 30-node testnet
/// ZenTalk.Testnet node|client ...          (started by the coordinator inside a host's namespace)
/// </code>
/// Options: --nodes N --rate-mbit R --latency-ms L (one way between hosts) --repair-interval S --warm-files N
/// --partition-seconds S --churn-rounds N --kill-at-once N --converge-budget S --seed N --root DIR --keep;
/// measure: --small-ops N --large-ops N --large-mib N --queue-ms N --no-slow-start-after-idle.
/// </summary>
public static class Program
{
    /// <summary>Set in the environment of the copy of this program that runs inside the private namespace.</summary>
    private const string InsideVariable = "ZENTALK_TESTNET_INSIDE";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: ZenTalk.Testnet ci | long [options] | measure [options] (see docs/testnet.md)");
            return 2;
        }
        switch (args[0])
        {
            case "node":
                return await NodeHost.RunAsync(args[1..]);
            case "client":
                return await ClientHost.RunAsync(args[1..]);
            case "ci" or "long" or "measure":
                break;
            default:
                Console.Error.WriteLine($"unknown command '{args[0]}'");
                return 2;
        }

        if (Environment.GetEnvironmentVariable(InsideVariable) != "1") return await RunInPrivateNamespaceAsync(args);
        var a = new HostArguments(args[1..]);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        if (args[0] == "measure") return await new Measurement(MeasurementOptionsFrom(a)).RunAsync(stop.Token);
        return await new FaultRun(FaultOptionsFrom(args[0], a)).RunAsync(stop.Token);
    }

    /// <summary>
    /// Runs this command again inside a new, empty network namespace (<c>unshare -n</c>), so that nothing the testnet
    /// builds or sends can leave it. Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN).
    /// </summary>
    private static async Task<int> RunInPrivateNamespaceAsync(string[] args)
    {
        var psi = new ProcessStartInfo("unshare") { UseShellExecute = false };
        foreach (var x in (string[])["-n", "--", .. Network.HostProcess.Self, .. args]) psi.ArgumentList.Add(x);
        psi.Environment[InsideVariable] = "1";
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start unshare");
        await child.WaitForExitAsync();
        return child.ExitCode;
    }

    private static FaultRunOptions FaultOptionsFrom(string command, HostArguments a)
    {
        var o = command == "long"
            ? new FaultRunOptions
            {
                Nodes = 30, LatencyMs = 25, RepairSeconds = 10, WarmFiles = 40, PartitionSeconds = 60, DownSeconds = 20,
                ChurnRounds = 5, KillAtOnce = 5, ConvergeBudgetSeconds = 300, RecoverBeforeKill = true,
            }
            : new FaultRunOptions();
        o.Nodes = a.Int("nodes", o.Nodes);
        o.RateMbit = a.Int("rate-mbit", o.RateMbit);
        o.LatencyMs = a.Double("latency-ms", o.LatencyMs);
        o.RepairSeconds = a.Double("repair-interval", o.RepairSeconds);
        o.WarmFiles = a.Int("warm-files", o.WarmFiles);
        o.PartitionSeconds = a.Double("partition-seconds", o.PartitionSeconds);
        o.DownSeconds = a.Double("down-seconds", o.DownSeconds);
        o.ChurnRounds = a.Int("churn-rounds", o.ChurnRounds);
        o.KillAtOnce = a.Int("kill-at-once", o.KillAtOnce);
        o.ConvergeBudgetSeconds = a.Double("converge-budget", o.ConvergeBudgetSeconds);
        o.Seed = a.Int("seed", o.Seed);
        o.Root = a.Get("root");
        o.Keep = a.Flag("keep");
        if (o.Nodes < 4 || o.Nodes > 120) throw new ArgumentException("--nodes must be 4 to 120");
        return o;
    }

    private static MeasurementOptions MeasurementOptionsFrom(HostArguments a) => new()
    {
        Nodes = a.Int("nodes", 30),
        RateMbit = a.Int("rate-mbit", 100),
        LatencyMs = a.Double("latency-ms", 25),
        SmallOps = a.Int("small-ops", 20),
        LargeOps = a.Int("large-ops", 3),
        LargeMiB = a.Int("large-mib", 64),
        QueueMs = a.Int("queue-ms", 50),
        SlowStartAfterIdle = !a.Flag("no-slow-start-after-idle"),
        Root = a.Get("root"),
        Keep = a.Flag("keep"),
    };
}
