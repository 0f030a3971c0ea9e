using System.Diagnostics;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>zentalk-node running as a child process, as an operator runs it; its REST address is read from what it prints.</summary>
internal sealed partial class StorageNodeProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly StringBuilder _output;

    private StorageNodeProcess(Process process, StringBuilder output, Uri httpAddress, string dataDirectory)
    {
        _process = process;
        _output = output;
        HttpAddress = httpAddress;
        DataDirectory = dataDirectory;
    }

    public Uri HttpAddress { get; }
    public string DataDirectory { get; }
    public int ProcessId => _process.Id;
    public string OwnerKeyPath => Path.Combine(DataDirectory, "owner-key.pem");
    public string Token => File.ReadAllText(Path.Combine(DataDirectory, "api-token")).Trim();

    /// <summary>What the node printed so far (stdout and stderr).</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    public static string ExecutablePath => typeof(StorageNodeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "StorageNodePath").Value!;

    /// <summary>An HTTP client for the node's API, with the API token unless <paramref name="withToken"/> is false.</summary>
    public HttpClient CreateClient(bool withToken = true, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = HttpAddress, Timeout = timeout ?? TimeSpan.FromMinutes(2) };
        if (withToken) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    /// <summary>Starts the node with <c>--data</c> and <c>--http-port 0</c> before <paramref name="extraArgs"/>, and waits until it listens.</summary>
    public static async Task<StorageNodeProcess> StartAsync(string dataDirectory, IEnumerable<string> extraArgs,
        IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Start(["--data", dataDirectory, "--http-port", "0", .. extraArgs], environment, line =>
        {
            const string marker = "REST API: ";
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0) address.TrySetResult(new Uri(line[(at + marker.Length)..].Split(' ')[0]));
        }, out var output, out var stdoutDone, out _, out _);
        _ = stdoutDone.Task.ContinueWith(_ => address.TrySetException(new InvalidOperationException($"zentalk-node exited before listening:\n{output}")),
            TaskScheduler.Default);
        try
        {
            var uri = await address.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return new StorageNodeProcess(process, output, uri, dataDirectory);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Runs the node (or <c>init</c>) to its end: a start that must fail, or a command that exits.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        using var process = Start(args, environment, null, out _, out var stdoutDone, out var stdout, out var stderr);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bounded.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        await stdoutDone.Task;
        lock (stdout) lock (stderr) return (process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, Action<string>? onLine,
        out StringBuilder output, out TaskCompletionSource stdoutDone, out StringBuilder stdout, out StringBuilder stderr)
    {
        Assert.That(File.Exists(ExecutablePath), Is.True, ExecutablePath);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        var process = Process.Start(psi)!;
        var all = output = new StringBuilder();
        var outText = stdout = new StringBuilder();
        var errText = stderr = new StringBuilder();
        var done = stdoutDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int open = 2;
        void Closed()
        {
            if (Interlocked.Decrement(ref open) == 0) done.TrySetResult();
        }
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                Closed();
                return;
            }
            lock (all) all.AppendLine(e.Data);
            lock (outText) outText.AppendLine(e.Data);
            onLine?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                Closed();
                return;
            }
            lock (all) all.AppendLine(e.Data);
            lock (errText) errText.AppendLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Sends SIGTERM, as systemd or a container runtime stops a service, and waits (at most 30 s) for the exit.</summary>
    public async Task<(int ExitCode, TimeSpan Took)> TerminateAsync()
    {
        var watch = Stopwatch.StartNew();
        Assert.That(Kill(_process.Id, SigTerm), Is.Zero, "kill(SIGTERM)");
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(bounded.Token);
        return (_process.ExitCode, watch.Elapsed);
    }

    /// <summary>Peak resident memory of the node process (VmHWM), in bytes.</summary>
    public long PeakResidentBytes() => ReadStatusKiB("VmHWM:") * 1024;

    /// <summary>Resets the peak resident memory, so the next <see cref="PeakResidentBytes"/> covers only what follows.</summary>
    public void ResetPeakResident() => File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");

    private long ReadStatusKiB(string field)
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
