using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// One storage node in a process of its own: the testnet's node host (tests/ZenTalk.Testnet, <c>node</c> mode, a
/// <c>MeshNode</c> with the default options an operator gets) on a loopback address, a port the OS chose and a data
/// directory of its own. Its resident set size is read from <c>/proc</c>; it stops when its standard input closes
/// (killed if it does not stop within 15 s).
/// </summary>
internal sealed class MeshProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _ask = new(1, 1);
    private readonly Queue<string> _stderr;
    private long _nextId;

    private MeshProcess(Process process, Queue<string> stderr, string bootstrap)
    {
        _process = process;
        _stderr = stderr;
        Bootstrap = bootstrap;
        var at = bootstrap.LastIndexOf('@');
        EndPoint = IPEndPoint.Parse(bootstrap[..at]);
        Id = NodeId.Parse(bootstrap[(at + 1)..]);
    }

    /// <summary>How other nodes reach it: <c>address:port@node id</c>.</summary>
    public string Bootstrap { get; }

    public IPEndPoint EndPoint { get; }

    public NodeId Id { get; }

    public int ProcessId => _process.Id;

    /// <summary>The last lines the node logged (warnings and errors), for a failure message.</summary>
    public string RecentLog
    {
        get
        {
            lock (_stderr) return string.Join('\n', _stderr);
        }
    }

    /// <summary>Starts <c>dotnet <paramref name="hostPath"/> node</c> on <paramref name="address"/> and waits for its ready line.</summary>
    public static async Task<MeshProcess> StartAsync(string hostPath, string address, string dataDirectory, IReadOnlyList<string> bootstrap,
        CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[hostPath, "node", "--listen", address, "--port", "0", "--data", dataDirectory])
            psi.ArgumentList.Add(a);
        if (bootstrap.Count > 0)
        {
            psi.ArgumentList.Add("--bootstrap");
            psi.ArgumentList.Add(string.Join(',', bootstrap));
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start a node process");
        var stderr = new Queue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr)
            {
                stderr.Enqueue(e.Data);
                if (stderr.Count > 20) stderr.Dequeue();
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(90));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false)
                       ?? throw new InvalidOperationException("the node process exited before it was ready: " + string.Join('\n', stderr));
            var ready = JsonNode.Parse(line)!.AsObject();
            if (ready["ready"]?.GetValue<bool>() != true || ready["bootstrap"]?.GetValue<string>() is not { } readyAddress)
                throw new InvalidOperationException("unexpected first line from the node process: " + line);
            return new MeshProcess(process, stderr, readyAddress);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Resident set size now and its peak since the process started (VmRSS, VmHWM), in bytes.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kilobytes(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kilobytes(line);
        }

        return (rss, peak);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    /// <summary>The node's own view (<c>network</c> on its control channel): routing table size, shards and bytes stored.</summary>
    public async Task<(int Table, long Shards, long Bytes)> NetworkAsync(CancellationToken cancellationToken)
    {
        await _ask.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long id = ++_nextId;
            await _process.StandardInput.WriteLineAsync(new JsonObject { ["id"] = id, ["op"] = "network" }.ToJsonString().AsMemory(), cancellationToken).ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            while (await _process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                var answer = JsonNode.Parse(line)!.AsObject();
                if (answer["id"]?.GetValue<long>() != id) continue;
                if (answer["ok"]?.GetValue<bool>() != true) throw new InvalidOperationException("the node answered: " + line);
                return (answer["table"]!.GetValue<int>(), answer["shards"]!.GetValue<long>(), answer["bytes"]!.GetValue<long>());
            }

            throw new InvalidOperationException("the node process exited: " + RecentLog);
        }
        finally
        {
            _ask.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _process.Dispose();
            _ask.Dispose();
        }
    }
}
