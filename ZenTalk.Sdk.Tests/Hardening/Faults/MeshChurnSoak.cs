using System.Diagnostics;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>Settings of a <see cref="MeshChurnSoak"/> run; the defaults are the short (test) version.</summary>
internal sealed record MeshChurnOptions
{
    public int Nodes { get; init; } = 20;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);
    public int MinFileSize { get; init; } = 2_000;
    public int MaxFileSize { get; init; } = 24_000;
    public int SegmentSize { get; init; } = 8 * 1024;
    public int Readers { get; init; } = 2;
    public int Writers { get; init; } = 1;

    /// <summary>Pause of each writer between two stores.</summary>
    public TimeSpan WriterPause { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Most nodes down at once (the rest of the 5 the code tolerates is left for unlucky placement).</summary>
    public int MaxDown { get; init; } = 3;

    /// <summary>Every this often one node is stopped or a stopped one is started again.</summary>
    public TimeSpan ChurnInterval { get; init; } = TimeSpan.FromSeconds(1.5);

    public TimeSpan RepairInterval { get; init; } = TimeSpan.FromSeconds(3);
    public int Seed { get; init; } = 1;
}

/// <summary>What a churn soak did.</summary>
internal sealed record MeshChurnReport(TimeSpan Duration, int Stops, int Restarts, int MaxDown, long StoresOk, long StoresFailed,
    long RetrievesOk, long RetrievesFailed, long Mismatches, double RetrieveP50Ms, double RetrieveP99Ms, int FilesStored, List<string> Lost,
    List<string> FirstErrors)
{
    public override string ToString() => string.Join(Environment.NewLine, new[]
    {
        $"mesh churn {Duration.TotalSeconds:0} s: {Stops} stops, {Restarts} restarts, at most {MaxDown} nodes down; " +
        $"stores {StoresOk} ok / {StoresFailed} failed; retrieves {RetrievesOk} ok / {RetrievesFailed} failed / {Mismatches} wrong bytes, " +
        $"p50 {RetrieveP50Ms:0.0} ms, p99 {RetrieveP99Ms:0.0} ms; files stored {FilesStored}, lost {Lost.Count}",
    }.Concat(Lost.Select(l => "  LOST " + l)).Concat(FirstErrors.Select(e => "  error: " + e)));
}

/// <summary>
/// Continuous store and retrieve through a client while nodes are stopped and started again (churn), with every
/// node's background repair running; at the end every stopped node comes back and every acknowledged file is read
/// back byte for byte.
/// </summary>
internal static class MeshChurnSoak
{
    public static async Task<MeshChurnReport> RunAsync(MeshChurnOptions o, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var random = new Random(o.Seed);
        await using var mesh = await LocalMesh.StartAsync(o.Nodes, new LocalMeshOptions
        {
            FastTimeouts = true,
            Node = { Coding = { SegmentSize = o.SegmentSize }, Repair = { Interval = o.RepairInterval } },
        }, cancellationToken: cancellationToken);
        var client = await mesh.StartClientAsync(0, cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var work = new MeshWorkload(owner, o.Seed, o.MinFileSize, o.MaxFileSize, o.WriterPause);
        for (int i = 0; i < 4; i++) await work.StoreOneAsync(client.Store, cancellationToken);

        var clock = Stopwatch.StartNew();
        var down = new List<int>();
        int stops = 0, restarts = 0, maxDown = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var load = work.RunAsync(client.Store, o.Readers, o.Writers, stop.Token);
        try
        {
            while (clock.Elapsed < o.Duration)
            {
                await Task.Delay(o.ChurnInterval, cancellationToken);
                // Stop one more while under the limit (and by chance), else bring the longest-down one back.
                if (down.Count < o.MaxDown && (down.Count == 0 || random.Next(2) == 0))
                {
                    int victim = Enumerable.Range(1, o.Nodes - 1).Except(down).OrderBy(_ => random.Next()).First();
                    await mesh.StopNodeAsync(victim);
                    down.Add(victim);
                    stops++;
                    maxDown = Math.Max(maxDown, down.Count);
                    log?.Invoke($"{clock.Elapsed.TotalSeconds,6:0.0} s  node {victim} stopped ({down.Count} down)");
                }
                else
                {
                    int back = down[0];
                    down.RemoveAt(0);
                    await mesh.RestartNodeAsync(back, cancellationToken);
                    restarts++;
                    log?.Invoke($"{clock.Elapsed.TotalSeconds,6:0.0} s  node {back} restarted ({down.Count} down)");
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await load;
        }

        var duration = clock.Elapsed;
        foreach (int i in down)
        {
            await mesh.RestartNodeAsync(i, cancellationToken);
            restarts++;
        }
        var lost = await work.VerifyAllAsync(client.Store, cancellationToken);
        return new MeshChurnReport(duration, stops, restarts, maxDown, work.StoresOk, work.StoresFailed, work.RetrievesOk, work.RetrievesFailed,
            work.Mismatches, work.RetrieveP50, work.RetrieveP99, work.Files.Count, lost, work.FirstErrors);
    }
}
