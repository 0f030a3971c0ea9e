using System.Diagnostics;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>The CrashWriter child process: started with a mode, its stdout lines collected, killed with SIGKILL.</summary>
internal sealed class CrashChild : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;

    public CrashChild(string writerPath, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [writerPath, .. args]) { RedirectStandardOutput = true, UseShellExecute = false };
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the crash writer");
        _reader = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line == "ready") _ready.TrySetResult();
                else lock (_lines) _lines.Add(line);
            }
            _ready.TrySetException(new InvalidOperationException("the crash writer exited before it was ready"));
        });
    }

    public Task WhenReady => _ready.Task;

    /// <summary>SIGKILL on Unix: no finally blocks, no flushing, no disposal. Returns every line printed before death.</summary>
    public async Task<List<string>> KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        lock (_lines) return _lines.ToList();
    }

    /// <summary>Lines so far (the writer is still running).</summary>
    public int LineCount
    {
        get
        {
            lock (_lines) return _lines.Count;
        }
    }

    public void Dispose() => _process.Dispose();

    /// <summary>Where the writer is: next to the running assembly (tests), or given by ZENTALK_CRASHWRITER.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("ZENTALK_CRASHWRITER") is { Length: > 0 } p ? p
            : Path.Combine(AppContext.BaseDirectory, "ZenTalk.Sdk.Tests.CrashWriter.dll");
}
