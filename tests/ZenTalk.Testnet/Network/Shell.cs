using System.Diagnostics;
using System.Text;

namespace ZenTalk.Testnet.Network;

/// <summary>Runs the iproute2 and util-linux commands that build the testnet, failing loudly with their output.</summary>
internal static class Shell
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/>; throws with its output when it fails.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> arguments, string? input = null, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = input is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input.AsMemory(), cancellationToken);
            process.StandardInput.Close();
        }
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var what = new StringBuilder($"{file} {string.Join(' ', psi.ArgumentList)} exited with {process.ExitCode}: {(await stderr).Trim()}");
            if (input is not null) what.Append("\ninput:\n").Append(input);
            throw new InvalidOperationException(what.ToString());
        }
        return await stdout;
    }

    /// <summary>Runs many <c>ip</c> commands (one per line) in one process, in this namespace or in <paramref name="ns"/>'s.</summary>
    public static Task IpBatchAsync(IEnumerable<string> commands, NodeNamespace? ns = null, CancellationToken cancellationToken = default)
    {
        var script = string.Join('\n', commands) + "\n";
        return ns is null
            ? RunAsync("ip", ["-batch", "-"], script, cancellationToken)
            : RunAsync("nsenter", ["-t", ns.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "--", "ip", "-batch", "-"], script, cancellationToken);
    }

    /// <summary>Runs one command inside <paramref name="ns"/>.</summary>
    public static Task<string> InAsync(NodeNamespace ns, params string[] command) =>
        RunAsync("nsenter", ["-t", ns.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "--", .. command]);

    /// <summary>Whether a command can be found on PATH.</summary>
    public static bool OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, name)));
}
