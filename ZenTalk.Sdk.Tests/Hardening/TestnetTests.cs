using System.Diagnostics;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// The CI-sized testnet (tests/ZenTalk.Testnet, docs/testnet.md): 16 real node processes and 2 clients, each in its own
/// network namespace on its own 198.18.0.0/15 address, on 100 Mbit/s links with 10 ms between hosts, all inside a
/// private namespace the testnet makes for itself. One partition with work and a delete on each side, one kill -9 and
/// restart from the same data, then the invariants. Needs root, iproute2 (ip, tc) and util-linux (unshare, nsenter):
/// without them it is skipped, unless ZENTALK_REQUIRE_TESTNET=1 (set by .ci/run), when it fails.
/// </summary>
public class TestnetTests
{
    private static string TestnetPath => Path.Combine(AppContext.BaseDirectory, "ZenTalk.Testnet.dll");

    [Test]
    [CancelAfter(300_000)]
    public async Task A_sixteen_node_testnet_keeps_every_acknowledged_file_and_every_delete_through_a_partition_and_a_kill(CancellationToken cancellationToken)
    {
        if (await MissingAsync() is { } missing)
        {
            if (Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_TESTNET") == "1") Assert.Fail(missing);
            Assert.Ignore(missing);
        }

        // The testnet's nodes and namespaces end with it: they stop when their standard input closes.
        var (exitCode, output) = await ChildProcess.RunAsync(new ProcessStartInfo("dotnet", [TestnetPath, "ci"]), echo: true, cancellationToken);

        var lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Where(l => l.StartsWith("check ", StringComparison.Ordinal) && !l.Contains(": ok", StringComparison.Ordinal)), Is.Empty,
            "every check of the run holds");
        Assert.That(lines.Count(l => l.StartsWith("check ", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(12), "every check ran");
        Assert.That(lines.Last(l => l.StartsWith("testnet: ", StringComparison.Ordinal)), Does.EndWith(" 0 failed"));
        Assert.That(exitCode, Is.Zero);
    }

    /// <summary>Why the testnet cannot run here, or null.</summary>
    private static async Task<string?> MissingAsync()
    {
        if (!OperatingSystem.IsLinux()) return "the testnet needs Linux network namespaces";
        if (!File.Exists(TestnetPath)) return $"{TestnetPath} is not built";
        foreach (var tool in new[] { "ip", "tc", "unshare", "nsenter" })
        {
            if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool))))
                return $"the testnet needs '{tool}' (iproute2, util-linux)";
        }
        using var probe = Process.Start(new ProcessStartInfo("unshare", ["-n", "true"]) { UseShellExecute = false, RedirectStandardError = true })!;
        await probe.WaitForExitAsync();
        return probe.ExitCode == 0 ? null : "unshare -n is not permitted here (the testnet needs root)";
    }
}
