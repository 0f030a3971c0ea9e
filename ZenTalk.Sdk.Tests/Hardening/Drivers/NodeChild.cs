using System.Diagnostics;
using System.Globalization;
using System.Net;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>One memory reading of the node process.</summary>
/// <param name="Rss">Resident set size now (VmRSS).</param>
/// <param name="PeakRss">Highest resident set size since the process started (VmHWM; 0 where /proc is missing).</param>
/// <param name="ManagedHeap">Bytes the GC counts as allocated and live (GC.GetTotalMemory without a collection).</param>
/// <param name="Committed">Memory the GC has committed from the OS.</param>
/// <param name="Connections">Inbound connections past the handshake.</param>
/// <param name="Handshakes">Inbound connections still in the handshake.</param>
/// <param name="BudgetFree">Bytes of the RPC byte budget free (-1 when the node did not say).</param>
internal readonly record struct NodeMemory(long Rss, long PeakRss, long ManagedHeap, long Committed, int Connections, int Handshakes, long BudgetFree = -1)
{
    public static NodeMemory Parse(string line)
    {
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
        return new NodeMemory(values["rss"], values["peak"], values["heap"], values["committed"], (int)values["connections"], (int)values["handshakes"],
            values.GetValueOrDefault("budget", -1));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RSS {Rss >> 20} MiB (peak {PeakRss >> 20} MiB), managed heap {ManagedHeap >> 20} MiB, GC committed {Committed >> 20} MiB, {Connections} connections + {Handshakes} in handshake");
}

/// <summary>
/// A storing mesh node alone in a child process (the CrashWriter's <c>node</c> mode), so its resident set size is the
/// node's own and not the test runner's. Stopped cleanly on dispose (killed if it does not stop).
/// </summary>
internal sealed class NodeChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly SemaphoreSlim _ask = new(1, 1);

    private NodeChild(Process process, IPEndPoint endPoint, NodeId id)
    {
        _process = process;
        EndPoint = endPoint;
        Id = id;
    }

    public IPEndPoint EndPoint { get; }

    public NodeId Id { get; }

    public int ProcessId => _process.Id;

    /// <summary>The node process's CPU time so far (user and system).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public static async Task<NodeChild> StartAsync(string writerPath, string dataDirectory, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo("dotnet", [writerPath, "node", dataDirectory])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the node process");
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false)
                       ?? throw new InvalidOperationException("the node process exited before it was ready");
            var parts = line.Split(' ');
            if (parts is not ["ready", var endpoint, var id])
                throw new InvalidOperationException("unexpected first line from the node process: " + line);
            return new NodeChild(process, IPEndPoint.Parse(endpoint), NodeId.Parse(id));
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>Reads the node's memory figures; <paramref name="collect"/> runs a full compacting GC first.</summary>
    public async Task<NodeMemory> MeasureAsync(bool collect = false, CancellationToken cancellationToken = default)
    {
        await _ask.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _process.StandardInput.WriteLineAsync(collect ? "stats-gc" : "stats").ConfigureAwait(false);
            await _process.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
            var line = await _process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false)
                       ?? throw new InvalidOperationException("the node process exited");
            return NodeMemory.Parse(line);
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
            await _process.StandardInput.WriteLineAsync("quit").ConfigureAwait(false);
            await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        _ask.Dispose();
    }
}
