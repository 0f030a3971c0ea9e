using System.Diagnostics;
using System.Text;

namespace ZenTalk.Sdk.Tests;

/// <summary>Runs a child process to its end and collects what it prints; a cancelled test kills the whole process tree.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Starts <paramref name="psi"/> with both streams redirected and waits for it. The output holds standard output
    /// and standard error line by line (error lines prefixed "stderr: "); with <paramref name="echo"/> it also goes to the
    /// test's output when the process ends, cancelled or not.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo psi, bool echo, CancellationToken cancellationToken)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var output = new StringBuilder();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine("stderr: " + e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (echo)
                lock (output) TestContext.Out.WriteLine(output.ToString());
        }
        lock (output) return (process.ExitCode, output.ToString());
    }
}
