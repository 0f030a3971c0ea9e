using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>What a storage node says about itself on <c>GET /network</c> (docs/rest-api.md).</summary>
internal sealed record NodeNetwork(int RoutingTableSize, long StoredShards, long StoredBytes);

/// <summary>
/// The storage node operators run, <c>zentalk-node</c> (the built ZenTalk.StorageNode.dll under <c>dotnet</c>), in a
/// process of its own: its data directory made by <c>zentalk-node init</c> with its own loopback address for the mesh
/// and the REST API and ports the OS chooses at start (port 0); where it listens is read from the banner it prints. The
/// driver sees it only as anyone can: its REST API and <c>/proc</c>. Stopped with SIGTERM (killed if it has not exited
/// 15 s later). Its output is read all along (a node under attack logs), keeping the last lines for failure messages.
/// </summary>
internal sealed partial class NodeToolProcess : IAsyncDisposable
{
    private const string MeshMarker = "(others join with --bootstrap ";
    private const string ApiMarker = "REST API: ";
    private readonly Process _process;
    private readonly Queue<string> _tail;

    private NodeToolProcess(Process process, Queue<string> tail, string bootstrap, Uri api, string dataDirectory)
    {
        _process = process;
        _tail = tail;
        Bootstrap = bootstrap;
        EndPoint = IPEndPoint.Parse(bootstrap[..bootstrap.LastIndexOf('@')]);
        Api = api;
        DataDirectory = dataDirectory;
        Http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>How other nodes join it, as its banner prints it: <c>address:port@node id</c>.</summary>
    public string Bootstrap { get; }

    public IPEndPoint EndPoint { get; }

    /// <summary>The REST API's base address, from the banner.</summary>
    public Uri Api { get; }

    public string DataDirectory { get; }

    /// <summary>A client of its REST API (no token: reads; <see cref="Token"/> for writes).</summary>
    public HttpClient Http { get; }

    public string Token => File.ReadAllText(Path.Combine(DataDirectory, "api-token")).Trim();

    public string OwnerKeyPem => File.ReadAllText(Path.Combine(DataDirectory, "owner-key.pem"));

    public int ProcessId => _process.Id;

    /// <summary>The last lines the node printed, for a failure message.</summary>
    public string RecentOutput
    {
        get
        {
            lock (_tail) return string.Join('\n', _tail);
        }
    }

    /// <summary>
    /// <c>zentalk-node init</c> in <paramref name="dataDirectory"/> (mesh and REST API on <paramref name="address"/>,
    /// ports chosen at each start), then starts the node with <paramref name="bootstrap"/> and waits for its banner.
    /// </summary>
    public static async Task<NodeToolProcess> StartAsync(string nodeDll, string address, string dataDirectory, string? bootstrap,
        CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(120));
        using (var init = Launch(nodeDll, ["init", "--data", dataDirectory, "--listen", address, "--port", "0", "--http-address", address, "--http-port", "0"]))
        {
            var output = init.StandardOutput.ReadToEndAsync(bounded.Token);
            var errors = init.StandardError.ReadToEndAsync(bounded.Token);
            try
            {
                await init.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                init.Kill(entireProcessTree: true);
                throw;
            }

            if (init.ExitCode != 0)
                throw new InvalidOperationException($"zentalk-node init exited with {init.ExitCode}: {await output.ConfigureAwait(false)}{await errors.ConfigureAwait(false)}");
        }

        var process = Launch(nodeDll, bootstrap is null ? ["--data", dataDirectory] : ["--data", dataDirectory, "--bootstrap", bootstrap]);
        var tail = new Queue<string>();
        string? mesh = null;
        Uri? api = null;
        var banner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Line(string? line)
        {
            if (line is null)
            {
                banner.TrySetException(new InvalidOperationException("zentalk-node exited before it printed where it listens"));
                return;
            }

            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 40) tail.Dequeue();
                int at = line.IndexOf(MeshMarker, StringComparison.Ordinal);
                if (at >= 0) mesh = line[(at + MeshMarker.Length)..].TrimEnd(')');
                at = line.IndexOf(ApiMarker, StringComparison.Ordinal);
                if (at >= 0) api = new Uri(line[(at + ApiMarker.Length)..].Split(' ')[0]);
                if (mesh is not null && api is not null) banner.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) Line(e.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await banner.Task.WaitAsync(bounded.Token).ConfigureAwait(false);
            return new NodeToolProcess(process, tail, mesh!, api!, dataDirectory);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            process.Dispose();
            string recent;
            lock (tail) recent = string.Join('\n', tail);
            throw new InvalidOperationException($"zentalk-node in {dataDirectory} did not start: {e.Message}\n{recent}", e);
        }
    }

    private static Process Launch(string nodeDll, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(nodeDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + nodeDll);
    }

    /// <summary><c>GET /network</c>: routing table size, shards and bytes stored.</summary>
    public async Task<NodeNetwork> NetworkAsync(CancellationToken cancellationToken)
    {
        using var json = await Http.GetFromJsonAsync<JsonDocument>("network", cancellationToken).ConfigureAwait(false)
                         ?? throw new InvalidOperationException("GET /network answered nothing");
        var root = json.RootElement;
        return new NodeNetwork(root.GetProperty("routingTableSize").GetInt32(), root.GetProperty("storedShards").GetInt64(),
            root.GetProperty("storedBytes").GetInt64());
    }

    /// <summary>Resident set size now and its peak (VmRSS, VmHWM), in bytes, from <c>/proc/&lt;pid&gt;/status</c>.</summary>
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

    /// <summary>Resets the peak (VmHWM) to the current resident set, so the next <see cref="Memory"/> peak covers only what follows.</summary>
    public void ResetPeak() => File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, 15);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _process.Dispose();
        }
    }
}
