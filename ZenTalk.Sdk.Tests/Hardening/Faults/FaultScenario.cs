using System.Diagnostics;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>Settings of a <see cref="FaultScenario"/> run; the defaults are the short (test) version.</summary>
internal sealed record FaultScenarioOptions
{
    public int Nodes { get; init; } = 20;
    public int InitialFiles { get; init; } = 16;
    public int MinFileSize { get; init; } = 2_000;
    public int MaxFileSize { get; init; } = 24_000;
    public int SegmentSize { get; init; } = 8 * 1024;
    public TimeSpan PhaseDuration { get; init; } = TimeSpan.FromSeconds(3);
    public int Readers { get; init; } = 2;
    public int Writers { get; init; } = 1;

    /// <summary>Pause of each writer between two stores.</summary>
    public TimeSpan WriterPause { get; init; } = TimeSpan.FromMilliseconds(300);
    public int Seed { get; init; } = 1;

    /// <summary>Interval of every node's background repair loop while the faults run.</summary>
    public TimeSpan RepairInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Longest wait for a full repair (15/15 shards of every segment) before giving up.</summary>
    public TimeSpan RepairBudget { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Per-node shard quota (one node's is filled with junk during the run).</summary>
    public long QuotaBytes { get; init; } = 32L * 1024 * 1024;
}

/// <summary>What a <see cref="FaultScenario"/> run found.</summary>
internal sealed class FaultScenarioReport
{
    public List<string> Timeline { get; } = [];
    public int InitialFiles { get; set; }
    public int FilesStored { get; set; }
    public int FilesIntact { get; set; }
    public List<string> Lost { get; set; } = [];
    public int MaxDown { get; set; }
    public long RetrievesOk { get; set; }
    public long RetrievesFailed { get; set; }
    public long Mismatches { get; set; }
    public double RetrieveSuccessRate { get; set; }
    public double RetrieveP50Ms { get; set; }
    public double RetrieveP99Ms { get; set; }
    public long StoresOk { get; set; }
    public long StoresFailed { get; set; }
    public string Faults { get; set; } = "";
    public TimeSpan? RepairAfterFaults { get; set; }
    public TimeSpan? RepairAfterKillingFive { get; set; }
    public TimeSpan? RepairPassesTimeAfterKillingFive { get; set; }
    public int RepairPassesAfterKillingFive { get; set; }
    public int SegmentsChecked { get; set; }
    public List<string> FirstErrors { get; set; } = [];
    public TimeSpan Duration { get; set; }

    public override string ToString() => string.Join(Environment.NewLine, new[]
    {
        $"fault scenario {Duration.TotalSeconds:0} s: files stored {FilesStored} ({InitialFiles} before the faults), intact {FilesIntact}, lost {Lost.Count}; " +
        $"at most {MaxDown} nodes down at once",
        $"  retrieves during faults: {RetrievesOk} ok, {RetrievesFailed} failed, {Mismatches} wrong bytes; success {RetrieveSuccessRate:P2}; " +
        $"p50 {RetrieveP50Ms:0.0} ms, p99 {RetrieveP99Ms:0.0} ms",
        $"  stores during faults: {StoresOk} ok, {StoresFailed} failed",
        $"  faults injected: {Faults}",
        $"  full repair (15/15 of every segment) after the schedule: {Format(RepairAfterFaults)}",
        $"  full repair after killing 5 nodes: {Format(RepairAfterKillingFive)} until checked 15/15 ({RepairPassesAfterKillingFive} repair rounds, " +
        $"{SegmentsChecked} segments; the repair passes themselves ended at {Format(RepairPassesTimeAfterKillingFive)})",
    }.Concat(Timeline.Select(t => "  " + t)).Concat(Lost.Select(l => "  LOST " + l)).Concat(FirstErrors.Select(e => "  error: " + e)));

    private static string Format(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:0.0} s" : "NOT REACHED";
}

/// <summary>
/// The fault schedule on a real loopback mesh (20 nodes): stores files, then runs readers and writers through a
/// client while the schedule kills and restarts nodes, partitions sets of nodes (reset and black-hole), slows nodes,
/// cuts connections inside TLS records, swaps records, corrupts a node's shard files on disk and fills a node's
/// quota — never more than 5 nodes down at once (killed, cut off, or holding corrupted shards), so no segment ever
/// has more than 5 of its 15 holders down. Then it lets repair run to 15/15 shards for every segment, checks every
/// acknowledged file byte for byte, and finally measures the time to full repair after killing 5 of the nodes.
/// </summary>
internal static class FaultScenario
{
    public static async Task<FaultScenarioReport> RunAsync(FaultScenarioOptions o, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var report = new FaultScenarioReport();
        var clock = Stopwatch.StartNew();
        void Log(string line)
        {
            line = $"{clock.Elapsed.TotalSeconds,6:0.0} s  {line}";
            report.Timeline.Add(line);
            log?.Invoke(line);
        }

        var random = new Random(o.Seed);
        var network = new FaultNetwork(o.Seed);
        var meshOptions = new LocalMeshOptions
        {
            FastTimeouts = true,
            OutboundTransportFor = network.HookFor,
            Node = { Coding = { SegmentSize = o.SegmentSize }, Storage = { QuotaBytes = o.QuotaBytes }, Repair = { Interval = o.RepairInterval } },
        };
        await using var mesh = await LocalMesh.StartAsync(o.Nodes, meshOptions, cancellationToken: cancellationToken);
        network.Learn(mesh);
        var client = await mesh.StartClientAsync(0, cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var work = new MeshWorkload(owner, o.Seed, o.MinFileSize, o.MaxFileSize, o.WriterPause);
        for (int i = 0; i < o.InitialFiles; i++)
            if (!await work.StoreOneAsync(client.Store, cancellationToken))
                throw new InvalidOperationException("Storing a file before any fault failed: " + string.Join("; ", work.FirstErrors));
        report.InitialFiles = work.Files.Count;
        Log($"{o.Nodes} nodes up, {report.InitialFiles} files stored");

        // Node 0 is the client's way in; every fault picks among the others.
        var pool = Enumerable.Range(1, o.Nodes - 1).OrderBy(_ => random.Next()).ToList();
        int Take()
        {
            int n = pool[0];
            pool.RemoveAt(0);
            return n;
        }
        var killed = new HashSet<int>();
        var cutOff = new HashSet<int>();
        var corrupted = new HashSet<int>();
        void CheckBudget()
        {
            int down = killed.Count + cutOff.Count + corrupted.Count;
            report.MaxDown = Math.Max(report.MaxDown, down);
            if (down > 5) throw new InvalidOperationException($"The schedule has {down} nodes down at once; the rule is at most 5.");
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var load = work.RunAsync(client.Store, o.Readers, o.Writers, stop.Token);
        try
        {
            // 1. Link faults everywhere, two slow nodes, one node cut off with resets.
            int isolated = Take();
            int slowA = pool[0], slowB = pool[1];
            network.SetSlow(slowA, TimeSpan.FromMilliseconds(30));
            network.SetSlow(slowB, TimeSpan.FromMilliseconds(60));
            network.CutProbability = 0.002;
            network.ReorderProbability = 0.002;
            cutOff.Add(isolated);
            network.Partition([isolated], PartitionMode.Reset);
            CheckBudget();
            Log($"phase 1: nodes {slowA} and {slowB} slow (30/60 ms per chunk), cuts and record swaps on every link, node {isolated} partitioned (reset)");
            await Task.Delay(o.PhaseDuration, cancellationToken);

            // 2. Heal; kill two nodes, corrupt every shard file of a third.
            network.Heal();
            cutOff.Clear();
            pool.Add(isolated);
            int k1 = Take(), k2 = Take();
            await Task.WhenAll(mesh.StopNodeAsync(k1), mesh.StopNodeAsync(k2));
            killed.UnionWith([k1, k2]);
            int bad = Take();
            int flipped = CorruptShardFiles(mesh.Nodes[bad]);
            corrupted.Add(bad);
            CheckBudget();
            Log($"phase 2: partition healed; nodes {k1}, {k2} killed; {flipped} shards of node {bad} corrupted on disk");
            await Task.Delay(o.PhaseDuration, cancellationToken);

            // 3. Two more cut off by a black hole (5 down); one node's quota filled.
            int d1 = Take(), d2 = Take();
            cutOff.UnionWith([d1, d2]);
            network.Partition([d1, d2], PartitionMode.Drop);
            CheckBudget();
            int full = pool[0];
            var (junk, junkHashes) = await FillQuotaAsync(mesh.Nodes[full], random, cancellationToken);
            Log($"phase 3: nodes {d1}, {d2} partitioned (black hole); node {full}'s quota filled ({junk / 1024} KiB of junk); {killed.Count + cutOff.Count + corrupted.Count} nodes down");
            await Task.Delay(o.PhaseDuration, cancellationToken);

            // 4. Heal, restart the killed nodes.
            network.Heal();
            cutOff.Clear();
            pool.AddRange([d1, d2]);
            await RestartAsync(mesh, network, killed.ToList(), cancellationToken);
            pool.AddRange(killed);
            killed.Clear();
            Log($"phase 4: partition healed, nodes {k1}, {k2} restarted");
            await Task.Delay(o.PhaseDuration, cancellationToken);

            // 5. Kill four others (with the corrupted node: 5 down).
            var four = new List<int>();
            while (four.Count < 5 - corrupted.Count) four.Add(Take());
            await Task.WhenAll(four.Select(mesh.StopNodeAsync));
            killed.UnionWith(four);
            CheckBudget();
            Log($"phase 5: nodes {string.Join(", ", four)} killed; {killed.Count + corrupted.Count} nodes down");
            await Task.Delay(o.PhaseDuration, cancellationToken);

            // 6. Everyone back; faults off.
            await RestartAsync(mesh, network, four, cancellationToken);
            killed.Clear();
            pool.AddRange(four);
            network.ClearAll();
            // The full disk is over too (else, with 5 of 20 down later, one live node could take no shard and a
            // segment could not have 15 separate holders again).
            var fullNode = mesh.Nodes[full].Shards!;
            foreach (var h in junkHashes) await fullNode.DeleteAsync(h, cancellationToken);
            Log($"phase 6: nodes {string.Join(", ", four)} restarted, all link faults off, node {full}'s junk removed");
            await Task.Delay(o.PhaseDuration, cancellationToken);
        }
        finally
        {
            await stop.CancelAsync();
            await load;
        }

        report.RetrievesOk = work.RetrievesOk;
        report.RetrievesFailed = work.RetrievesFailed;
        report.Mismatches = work.Mismatches;
        report.RetrieveSuccessRate = work.RetrieveSuccessRate;
        report.RetrieveP50Ms = work.RetrieveP50;
        report.RetrieveP99Ms = work.RetrieveP99;
        report.StoresOk = work.StoresOk;
        report.StoresFailed = work.StoresFailed;
        report.FirstErrors = work.FirstErrors;
        report.Faults = $"{network.Connections} connections wrapped, {network.Refused} refused, {network.Cuts} cut mid-record, " +
            $"{network.Reorders} record swaps, {network.DelayedChunks} delayed chunks, {network.DroppedChunks} dropped chunks";
        Log($"faults over: {report.Faults}");

        var live = Enumerable.Range(0, o.Nodes).ToList();
        report.RepairAfterFaults = await RepairUntilCompleteAsync(mesh, live, client, work, o.RepairBudget, cancellationToken);
        corrupted.Clear();
        Log($"full repair after the schedule: {(report.RepairAfterFaults is { } r1 ? $"{r1.TotalSeconds:0.0} s" : "not reached")}");

        var lost = await work.VerifyAllAsync(client.Store, cancellationToken);
        report.FilesStored = work.Files.Count;
        report.Lost = lost;
        report.FilesIntact = report.FilesStored - lost.Count;
        Log($"byte-for-byte check: {report.FilesIntact} of {report.FilesStored} intact");

        // Time to full repair after killing 5 of the nodes.
        var five = Enumerable.Range(1, o.Nodes - 1).OrderBy(_ => random.Next()).Take(5).ToList();
        await Task.WhenAll(five.Select(mesh.StopNodeAsync));
        Log($"nodes {string.Join(", ", five)} killed for the repair-time measurement");
        var (elapsed, passes, rounds, segments) = await TimeRepairAsync(mesh, live.Except(five).ToList(), client, work, o.RepairBudget, cancellationToken);
        report.RepairAfterKillingFive = elapsed;
        report.RepairPassesTimeAfterKillingFive = passes;
        report.RepairPassesAfterKillingFive = rounds;
        report.SegmentsChecked = segments;
        Log($"full repair after killing 5: {(elapsed is { } r2 ? $"{r2.TotalSeconds:0.0} s" : "not reached")} ({rounds} rounds)");
        report.FirstErrors = work.FirstErrors;
        var lostAfter = await work.VerifyAllAsync(client.Store, cancellationToken);
        report.Lost.AddRange(lostAfter.Select(l => "after the repair measurement: " + l));
        report.Duration = clock.Elapsed;
        return report;
    }

    // In parallel: a restarting node's bucket refresh waits out its dead contacts, seconds each.
    private static Task RestartAsync(LocalMesh mesh, FaultNetwork network, List<int> nodes, CancellationToken cancellationToken) =>
        Task.WhenAll(nodes.Select(async k => network.Learn(k, await mesh.RestartNodeAsync(k, cancellationToken))));

    /// <summary>Flips the last byte of every shard <paramref name="node"/> stores, on disk (its store notices on the next read).</summary>
    internal static int CorruptShardFiles(MeshNode node)
    {
        var store = node.Shards ?? throw new InvalidOperationException("not a storing node");
        int n = 0;
        foreach (var info in store.List())
        {
            // Deleted, moved or re-put since the listing: skip it, the rest are corrupted anyway.
            if (info.Length == 0 || store.Locate(info.Hash) is not { } at) continue;
            try
            {
                using var f = new FileStream(at.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                var last = at.PayloadOffset + info.Length - 1;
                f.Position = last;
                int b = f.ReadByte();
                f.Position = last;
                f.WriteByte((byte)(b ^ 0xFF));
                n++;
            }
            catch (IOException)
            {
                // The pack was removed by compaction under us.
            }
        }
        return n;
    }

    /// <summary>Puts junk shards into <paramref name="node"/>'s store until not even 64 bytes fit; returns the bytes added
    /// and the junk's hashes (to free the space again).</summary>
    internal static async Task<(long Bytes, List<Sha256Hash> Junk)> FillQuotaAsync(MeshNode node, Random random, CancellationToken cancellationToken)
    {
        var store = node.Shards ?? throw new InvalidOperationException("not a storing node");
        long added = 0;
        var junkHashes = new List<Sha256Hash>();
        for (int size = 1024 * 1024; size >= 64; size /= 4)
        {
            while (true)
            {
                var junk = new byte[size];
                random.NextBytes(junk);
                try
                {
                    var hash = Sha256Hash.Compute(junk);
                    await store.PutAsync(hash, junk, default, cancellationToken);
                    junkHashes.Add(hash);
                    added += size;
                }
                catch (QuotaExceededException)
                {
                    break;
                }
            }
        }
        return (added, junkHashes);
    }

    /// <summary>Runs repair passes on the live nodes until every segment of every file has all its shards verified.</summary>
    private static async Task<TimeSpan?> RepairUntilCompleteAsync(LocalMesh mesh, List<int> live, MeshNode asker, MeshWorkload work,
        TimeSpan budget, CancellationToken cancellationToken) =>
        (await TimeRepairAsync(mesh, live, asker, work, budget, cancellationToken)).Elapsed;

    /// <summary>
    /// Every shard verified, and no node the only holder of two shards (else one more node failure loses two, and
    /// "15 of 15" would overstate what the segment survives).
    /// </summary>
    internal static bool FullyRepaired(SegmentStatus segment) =>
        segment.ShardsVerified == segment.ShardsExpected
        && segment.Holders.GroupBy(h => h.ShardIndex).Where(g => g.Count() == 1).GroupBy(g => g.First().Node).All(g => g.Count() == 1);

    /// <summary>Elapsed: until the check that found every segment at 15/15; PassesEnded: until the repair passes
    /// of that round ended (the repair work itself, without the final check).</summary>
    private static async Task<(TimeSpan? Elapsed, TimeSpan? PassesEnded, int Rounds, int Segments)> TimeRepairAsync(LocalMesh mesh, List<int> live, MeshNode asker,
        MeshWorkload work, TimeSpan budget, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var pending = work.Files.Select(f => f.Cid).ToHashSet();
        int segments = 0, rounds = 0;
        var lastPassesEnded = TimeSpan.Zero;
        while (clock.Elapsed < budget)
        {
            rounds++;
            // Every live node runs a pass (each repairs the files it is the closest live node to), as the loop would.
            await Task.WhenAll(live.Select(i => mesh.Nodes[i].RunRepairPassAsync(cancellationToken)));
            lastPassesEnded = clock.Elapsed;
            foreach (var cid in pending.ToList())
            {
                var status = await asker.Store.GetStatusAsync(cid, cancellationToken);
                if (rounds == 1) segments += status.Segments.Count;
                if (status.Segments.All(FullyRepaired)) pending.Remove(cid);
            }
            if (pending.Count == 0) return (clock.Elapsed, lastPassesEnded, rounds, segments);
        }
        // Not reached: say which segments lack what, so the cause can be found.
        foreach (var cid in pending.Take(3))
        {
            var status = await asker.Store.GetStatusAsync(cid, cancellationToken);
            foreach (var s in status.Segments.Where(s => !FullyRepaired(s)))
            {
                var holders = s.Holders.Select(h => Enumerable.Range(0, mesh.Nodes.Count).First(i => mesh.Nodes[i].Id == h.Node))
                    .Distinct().Order();
                var indexed = live.Where(i => mesh.Nodes[i].Files?.Files.Any(f => f.Key == cid) == true);
                work.FirstErrors.Add($"not repaired: {cid} segment {s.Index}: {s.ShardsVerified} verified, {s.ShardsFound} found, " +
                    $"missing [{string.Join(",", s.MissingShards)}], holders [{string.Join(",", holders)}], in the file index of [{string.Join(",", indexed)}]");
            }
        }
        return (null, null, rounds, segments);
    }
}
