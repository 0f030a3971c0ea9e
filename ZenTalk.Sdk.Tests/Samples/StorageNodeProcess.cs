using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace ZenTalk.Sdk.Tests.Samples;

/// <summary>The StorageNode sample running as a child process, as a user would run it; its REST address is read
/// from what it prints.</summary>
internal sealed class StorageNodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private StorageNodeProcess(Process process, Uri httpAddress, string dataDirectory)
    {
        _process = process;
        HttpAddress = httpAddress;
        DataDirectory = dataDirectory;
    }

    public Uri HttpAddress { get; }
    public string DataDirectory { get; }
    public string OwnerKeyPath => Path.Combine(DataDirectory, "owner-key.pem");

    public static string ExecutablePath => typeof(StorageNodeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "StorageNodePath").Value!;

    public static async Task<StorageNodeProcess> StartAsync(string dataDirectory, IEnumerable<string> extraArgs, CancellationToken cancellationToken = default)
    {
        Assert.That(File.Exists(ExecutablePath), Is.True, ExecutablePath);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { ExecutablePath, "--data", dataDirectory, "--http-port", "0" }.Concat(extraArgs))
        {
            psi.ArgumentList.Add(arg);
        }
        var process = Process.Start(psi)!;
        var output = new StringBuilder();
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                address.TrySetException(new InvalidOperationException($"StorageNode exited before listening:\n{output}"));
                return;
            }
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            const string marker = "REST API: ";
            var at = e.Data.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                address.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Split(' ')[0]));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var uri = await address.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            return new StorageNodeProcess(process, uri, dataDirectory);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
