using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace ZenTalk.Testnet.Network;

/// <summary>
/// A node or client process the coordinator started inside a host's namespace (<c>nsenter -t pid -n -- this program
/// node|client ...</c>; nsenter execs, so the pid is the node's own): its ready line, its control channel
/// (<see cref="Hosts.StdioServer"/>), its standard error appended to a log file, SIGKILL, SIGTERM, and its RSS from /proc.
/// </summary>
internal sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonObject>> _pending = new();
    private readonly TaskCompletionSource<JsonObject> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StreamWriter _log;
    private readonly Lock _writeLock = new();
    private long _nextId;

    private HostProcess(Process process, StreamWriter log, string name)
    {
        _process = process;
        _log = log;
        Name = name;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>When set, every request and answer is appended here as a JSON line with the time it was written (clients:
    /// the run's record of every operation, for reading afterwards).</summary>
    public StreamWriter? Transcript { get; set; }

    /// <summary>The ready line's fields (for a node: "bootstrap" and "node").</summary>
    public JsonObject Ready { get; private set; } = [];

    /// <summary>This program, as a command line a child can run.</summary>
    public static IReadOnlyList<string> Self
    {
        get
        {
            string path = Environment.ProcessPath ?? throw new InvalidOperationException("no path to this program");
            return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, typeof(HostProcess).Assembly.Location] : [path];
        }
    }

    public static async Task<HostProcess> StartAsync(TestnetHost host, IEnumerable<string> arguments, string logPath, TimeSpan readyTimeout,
        CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("nsenter")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["-t", host.Namespace.Pid.ToString(CultureInfo.InvariantCulture), "-n", "--", .. Self, .. arguments])
            psi.ArgumentList.Add(a);
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {host.Name}");
        var child = new HostProcess(process, log, host.Name);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (child._writeLock) child._log.WriteLine(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            child.Ready = await child._ready.Task.WaitAsync(readyTimeout, cancellationToken);
            return child;
        }
        catch
        {
            child.Kill();
            await child.DisposeAsync();
            throw;
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            // The process is gone: nobody will answer.
            _ready.TrySetException(new InvalidOperationException($"{Name} exited before it was ready (see its log)"));
            foreach (var key in _pending.Keys)
                if (_pending.TryRemove(key, out var waiter)) waiter.TrySetException(new IOException($"{Name} exited"));
            return;
        }
        JsonObject message;
        try
        {
            message = JsonNode.Parse(line)!.AsObject();
        }
        catch (System.Text.Json.JsonException)
        {
            lock (_writeLock) _log.WriteLine("stdout: " + line);
            return;
        }
        if (message["ready"] is not null)
        {
            _ready.TrySetResult(message);
            return;
        }
        Record(message);
        if (message["id"]?.GetValue<long>() is { } id && _pending.TryRemove(id, out var tcs)) tcs.TrySetResult(message);
    }

    /// <summary>Sends a request; the answer has "ok" and the op's fields (or "error" and "message").</summary>
    public async Task<JsonObject> CallAsync(JsonObject request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _nextId);
        request["id"] = id;
        var tcs = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        try
        {
            lock (_writeLock)
            {
                _process.StandardInput.WriteLine(request.ToJsonString());
                _process.StandardInput.Flush();
            }
            Record(request);
            return await tcs.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            throw new IOException($"{Name} is not running", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private void Record(JsonObject message)
    {
        if (Transcript is not { } transcript) return;
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {message.ToJsonString()}";
        lock (transcript) transcript.WriteLine(line);
    }

    /// <summary>SIGKILL: the process ends at once, mid-write if it was writing.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>SIGTERM, then waits for a clean exit (SIGKILL after <paramref name="grace"/>). Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited) _ = SendSignal(_process.Id, 15);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await _process.WaitForExitAsync();
            return -9;
        }
        return _process.ExitCode;
    }

    /// <summary>The resident set size (VmRSS from /proc), or null when the process is gone.</summary>
    public long? Rss()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return 1024 * long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Exited.
        }
        return null;
    }

    /// <summary>CPU time used so far (user + system, from /proc/pid/stat), or null when the process is gone.</summary>
    public TimeSpan? Cpu()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            // Fields after the command (which may hold spaces) in parentheses: state is the 3rd, utime the 14th, stime the 15th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Its end is gone.
            }
            await StopAsync(TimeSpan.FromSeconds(10));
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_writeLock) _log.Dispose();
        if (Transcript is { } transcript)
            lock (transcript) transcript.Dispose();
    }
}
