using System.Diagnostics;
using System.Globalization;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// A 15-node mesh in a child process (this program again, as <c>meshloop holders</c>), with a line protocol on its
/// standard streams: it prints <c>ready ADDRESS</c> once its nodes are up, answers <c>cpu</c> with its CPU time in
/// milliseconds, starts the TLS floor's server on <c>floor</c> (<see cref="TlsFloor"/>; answers with its port) and stops on
/// <c>quit</c> or when its standard input closes. The benchmarks that measure a client's own
/// CPU (<c>meshloop --split</c>, <c>ratios</c>) store through it, so the holders' work is not counted as the client's.
/// </summary>
internal sealed class HoldersProcess : IDisposable
{
    private readonly Process _process;

    private HoldersProcess(Process process, string bootstrapAddress)
    {
        _process = process;
        BootstrapAddress = bootstrapAddress;
    }

    /// <summary>Where a client joins the holders' mesh.</summary>
    public string BootstrapAddress { get; }

    /// <summary>Starts the TLS floor's sink in the child (once) and returns its port on 127.0.0.1.</summary>
    public int FloorPort()
    {
        _process.StandardInput.WriteLine("floor");
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the holders' process exited");
        return int.Parse(line, CultureInfo.InvariantCulture);
    }

    /// <summary>Starts the child and waits until its nodes are up.</summary>
    public static HoldersProcess Start(string? root)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no path to this program");
        List<string> arguments = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [typeof(HoldersProcess).Assembly.Location] : [];
        arguments.AddRange(["meshloop", "holders"]);
        if (root is not null) arguments.AddRange(["--root", root]);
        var psi = new ProcessStartInfo(self, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        // A JIT log asked for the client (DOTNET_JitStdOutFile) is the client's: the holders would write into the same file.
        psi.Environment.Remove("DOTNET_JitStdOutFile");
        psi.Environment.Remove("DOTNET_JitDisasmSummary");
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

    /// <summary>The child's CPU time so far.</summary>
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

    /// <summary>The child's side: runs the 15 nodes until told to quit.</summary>
    public static async Task<int> ServeAsync(string? root)
    {
        var options = new LocalMeshOptions { Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } } };
        string? ownRoot = root is null ? null : Path.Combine(root, "zentalk-meshloop-" + Guid.NewGuid().ToString("N"));
        if (ownRoot is not null) options.RootDirectory = ownRoot;
        try
        {
            await using var mesh = await LocalMesh.StartAsync(15, options);
            Console.WriteLine("ready " + mesh.Nodes[0].BootstrapAddress);
            using var process = Process.GetCurrentProcess();
            TlsFloor.Server? floor = null;
            try
            {
                while (await Console.In.ReadLineAsync() is { } line && line != "quit")
                {
                    if (line == "floor")
                    {
                        floor ??= TlsFloor.Server.Start();
                        Console.WriteLine(floor.Port.ToString(CultureInfo.InvariantCulture));
                        continue;
                    }

                    process.Refresh();
                    Console.WriteLine(process.TotalProcessorTime.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture));
                }
            }
            finally
            {
                if (floor is not null) await floor.DisposeAsync();
            }
        }
        finally
        {
            if (ownRoot is not null && Directory.Exists(ownRoot)) Directory.Delete(ownRoot, recursive: true);
        }

        return 0;
    }
}
