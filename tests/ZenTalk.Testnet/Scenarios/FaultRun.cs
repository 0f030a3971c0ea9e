using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using ZenTalk.Testnet.Network;

namespace ZenTalk.Testnet.Scenarios;

/// <summary>The knobs of a fault run (<c>ci</c> and <c>long</c> differ only in these).</summary>
internal sealed class FaultRunOptions
{
    public int Nodes { get; set; } = 16;
    public int RateMbit { get; set; } = 100;

    /// <summary>One-way latency between two hosts.</summary>
    public double LatencyMs { get; set; } = 10;

    public double RepairSeconds { get; set; } = 5;
    public int WarmFiles { get; set; } = 10;
    public double PartitionSeconds { get; set; } = 15;
    public double DownSeconds { get; set; } = 5;

    /// <summary>Rounds of churn (one node leaves for good, a new one joins), each followed by this many repair intervals of workload.</summary>
    public int ChurnRounds { get; set; }

    public double ChurnIntervals { get; set; } = 3;

    /// <summary>Nodes killed at once at the end, to time the repair (0 skips it).</summary>
    public int KillAtOnce { get; set; }

    public double ConvergeBudgetSeconds { get; set; } = 60;

    /// <summary>Waits for full repair after healing, before the kill (the long run's "recovery after a partition"); the CI
    /// run saves the time and checks once, after both.</summary>
    public bool RecoverBeforeKill { get; set; }
    public int Seed { get; set; } = 1;

    /// <summary>No node's RSS may exceed this.</summary>
    public long RssCeiling { get; set; } = 768L << 20;

    public string? Root { get; set; }
    public bool Keep { get; set; }
}

/// <summary>
/// The fault run: a mesh of real node processes on their own addresses, shaped links, then a partition with work on
/// both sides and a delete on each, healing, a kill -9 and restart from the same data, optionally churn and a kill
/// of several nodes at once, and the invariants: every acknowledged file reads back byte for byte once the faults
/// heal, a file deleted on one side of the partition never comes back, repair converges within the stated budget
/// (every segment 15 of 15 verified, no node the only holder of two shards of it), and no node's RSS passes the
/// ceiling or keeps growing.
/// </summary>
internal sealed class FaultRun(FaultRunOptions options)
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(120);
    private readonly FileBook _book = new(options.Seed);
    private readonly Random _random = new(options.Seed);
    private RunReport _report = null!;
    private Mesh _mesh = null!;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        string root = options.Root ?? Path.Combine(Path.GetTempPath(), "zentalk-testnet-" + Guid.NewGuid().ToString("N")[..8]);
        var shape = new LinkShape(options.RateMbit, TimeSpan.FromMilliseconds(options.LatencyMs));
        _mesh = await Mesh.CreateAsync(shape, root, options.RepairSeconds, cancellationToken);
        _report = new RunReport(_mesh.Clock) { CpuSource = _mesh.CpuSeconds };
        try
        {
            await RunPhasesAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _report.Check("the run completes", false, $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            _report.Phase("stopping");
            await _mesh.DisposeAsync();
            if (!options.Keep && !_report.Failed) Directory.Delete(root, recursive: true);
            else _report.Note($"kept {root} (logs/ has every node's log)");
        }
        _report.Finish();
        return _report.Failed ? 1 : 0;
    }

    private async Task RunPhasesAsync(CancellationToken ct)
    {
        int n = options.Nodes;
        _report.Phase($"topology: {n} nodes and 2 clients, each in its own namespace on 198.18.0.0/15 (two nodes per /24), " +
            $"{options.RateMbit} Mbit/s links, {options.LatencyMs} ms one way between hosts, repair every {options.RepairSeconds} s");
        await _mesh.AddNodesAsync(n, parallel: 8, ct);
        _report.Note($"{n} nodes ready: {string.Join(", ", _mesh.Nodes.Select(x => $"{x.Host.Address} ({x.LastStart.TotalSeconds:F1} s)"))}");
        await _mesh.WaitForTablesAsync(_report, ct);

        var sideA = _mesh.Nodes.Take(n / 2).ToList();
        var sideB = _mesh.Nodes.Skip(n / 2).ToList();
        var clientA = await _mesh.AddClientAsync(sideA.Take(3), ct);
        var clientB = await _mesh.AddClientAsync(sideB.Take(3), ct);
        _report.Note($"clients ready: {clientA.Host.Address} (side A), {clientB.Host.Address} (side B)");
        var clientTables = new[] { (await Mesh.NetworkOfAsync(clientA, ct)).Table, (await Mesh.NetworkOfAsync(clientB, ct)).Table };
        _report.Check("both clients joined the mesh", clientTables.Min() >= Math.Min(n, 20), $"routing tables {clientTables[0]} and {clientTables[1]} of {n} nodes");

        // Warm: files stored before any fault, read back through both clients.
        _report.Phase($"warm: {options.WarmFiles} files through client A");
        var warm = new List<BookEntry>();
        for (int i = 0; i < options.WarmFiles; i++)
        {
            var (file, answer) = await _book.StoreAsync(clientA, _book.NextSize(), "warm", StoreTimeout, ct);
            if (file is null) _report.Note($"warm store failed: {answer["error"]}: {answer["message"]}");
            else warm.Add(file);
        }
        _report.Check("warm stores acknowledged", warm.Count == options.WarmFiles, $"{warm.Count} of {options.WarmFiles}");
        if (warm.Count < 2) throw new InvalidOperationException("too few warm files to go on (the partition deletes two of them)");
        await CheckReadableAsync("warm files read back through both clients", [clientA, clientB], _book.Live.ToList(), ct);

        // The partition: side B (half the nodes and client B) moves to the other bridge. Both sides keep storing and
        // reading; a third of the way in, each client deletes a warm file (stored before the split).
        _report.Phase($"partition: {sideA.Count} nodes + client A | {sideB.Count} nodes + client B, {options.PartitionSeconds} s");
        await _mesh.Network.PartitionAsync(sideB.Select(x => x.Host).Append(clientB.Host), ct);
        var statsA = new SideStats("A");
        var statsB = new SideStats("B");
        using (var partition = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var started = _mesh.Clock.Elapsed;
            var workA = SideWorkloadAsync(clientA, statsA, partition.Token);
            var workB = SideWorkloadAsync(clientB, statsB, partition.Token);
            await Task.Delay(TimeSpan.FromSeconds(options.PartitionSeconds / 3), ct);
            // Both deletes run beside the work; the partition lasts until they are answered (at least its stated time).
            var deletes = Task.WhenAll(DeleteAsync(clientA, warm[0], "client A during the partition", ct),
                DeleteAsync(clientB, warm[1], "client B during the partition", ct));
            var remaining = TimeSpan.FromSeconds(options.PartitionSeconds) - (_mesh.Clock.Elapsed - started);
            if (remaining > TimeSpan.Zero) await Task.Delay(remaining, ct);
            await deletes;
            _report.Note($"partition lasted {RunReport.Seconds((_mesh.Clock.Elapsed - started).TotalSeconds)}");
            await partition.CancelAsync();
            await Task.WhenAll(workA, workB);
        }
        foreach (var s in new[] { statsA, statsB })
        {
            _report.Figure($"side {s.Side} during the partition",
                $"stores {s.StoresOk} ok / {s.StoresFailed} failed (ms: {s.Latencies("store")}), " +
                $"reads of its own new files {s.ReadsOk} ok / {s.ReadsFailed} failed (ms: {s.Latencies("get")})" +
                (s.Errors.IsEmpty ? "" : $"; first errors: {string.Join(" | ", s.Errors.Take(3))}"));
            _report.Check($"side {s.Side} keeps working during the partition", s.StoresOk > 0 && s.ReadsOk > 0,
                $"{s.StoresOk} stores, {s.ReadsOk} reads of its own new files");
        }

        _report.Phase("heal");
        await _mesh.Network.HealAsync(ct);
        var healed = _mesh.Clock.Elapsed;
        if (options.RecoverBeforeKill)
        {
            var recovered = await ConvergeAsync("after the partition", clientA, [clientA, clientB], healed, ct);
            if (recovered is { } rec) _report.Figure($"recovery after a {options.PartitionSeconds} s partition", $"{RunReport.Seconds(rec.TotalSeconds)} from healing to full repair (repair every {options.RepairSeconds} s)");
        }

        // kill -9 one node, let the mesh run without it, start it again from the same directory.
        var victim = sideA[1];
        _report.Phase($"kill -9 {victim.Name} ({victim.Host.Address}), restart after {options.DownSeconds} s");
        var before = await Mesh.NetworkOfAsync(victim, ct);
        await _mesh.KillAsync(victim);
        await Task.Delay(TimeSpan.FromSeconds(options.DownSeconds), ct);
        await _mesh.StartNodeAsync(victim, ct);
        var after = await Mesh.NetworkOfAsync(victim, ct);
        _report.Check($"{victim.Name} restarts with its data", after.Shards >= before.Shards && before.Shards > 0,
            $"{before.Shards} shards before the kill, {after.Shards} after the restart");

        if (options.RecoverBeforeKill)
        {
            await ConvergeAsync($"after the restart of {victim.Name}", clientA, [clientA, clientB], _mesh.Clock.Elapsed, ct);
        }
        else
        {
            var recovery = await ConvergeAsync("after the partition and the restart", clientA, [clientA, clientB], healed, ct);
            if (recovery is { } r) _report.Figure("recovery after the partition and the restart", $"{RunReport.Seconds(r.TotalSeconds)} from healing to full repair");
        }

        if (options.ChurnRounds > 0) await ChurnAsync(clientA, [clientA, clientB], ct);
        if (options.KillAtOnce > 0) await KillManyAsync(clientA, [clientA, clientB], ct);

        _report.Phase($"final: wait two repair intervals, then every file through both clients");
        await Task.Delay(TimeSpan.FromSeconds(2 * options.RepairSeconds), ct);
        await CheckReadableAsync("every acknowledged file reads back byte for byte", [clientA, clientB], _book.Live.ToList(), ct);
        await CheckDeletedAsync("deleted files stay deleted", [clientA, clientB], ct);
        ReportMemory();
        var neighbours = await _mesh.Network.NeighbourProblemsAsync(ct);
        _report.Check("every host reaches the others by static neighbour entries", neighbours.Count == 0,
            neighbours.Count == 0 ? $"{_mesh.Network.Hosts.Count} hosts, none learned an entry" : string.Join("; ", neighbours.Take(5)));
        _report.Figure("relays", _mesh.Network.RelayTotals());
        _report.Figure("nodes' counters", await _mesh.NodeCountersAsync(ct));
        _report.Figure("files", $"{_book.All.Count} acknowledged, {_book.Deleted.Count()} deleted");
    }

    private sealed class SideStats(string side)
    {
        public string Side { get; } = side;
        public TimeSpan Started { get; set; }
        public long StoresOk, StoresFailed, ReadsOk, ReadsFailed;
        public ConcurrentQueue<string> Errors { get; } = new();
        public ConcurrentQueue<(string Op, double Ms)> Times { get; } = new();

        public string Latencies(string op) =>
            string.Join(" ", Times.Where(t => t.Op == op).Select(t => t.Ms.ToString("F0", CultureInfo.InvariantCulture)));
    }

    /// <summary>One side's work during the partition: store a new attachment-sized file, read back one of the side's new files, pause.</summary>
    private async Task SideWorkloadAsync(MeshMember client, SideStats stats, CancellationToken stop)
    {
        stats.Started = _mesh.Clock.Elapsed;
        var mine = new List<BookEntry>();
        var random = new Random(options.Seed + stats.Side[0]);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var (file, answer) = await _book.StoreAsync(client, random.Next(1024, 256 * 1024), "partition " + stats.Side, StoreTimeout, stop);
                if (answer["ms"] is { } storeMs) stats.Times.Enqueue(("store", storeMs.GetValue<double>()));
                if (file is not null)
                {
                    mine.Add(file);
                    Interlocked.Increment(ref stats.StoresOk);
                }
                else
                {
                    Interlocked.Increment(ref stats.StoresFailed);
                    stats.Errors.Enqueue($"store: {answer["message"]}");
                }
                if (mine.Count > 0)
                {
                    var (outcome, read) = await FileBook.ReadAsync(client, mine[random.Next(mine.Count)], ReadTimeout, stop);
                    if (read["ms"] is { } readMs) stats.Times.Enqueue(("get", readMs.GetValue<double>()));
                    if (outcome == "ok") Interlocked.Increment(ref stats.ReadsOk);
                    else
                    {
                        Interlocked.Increment(ref stats.ReadsFailed);
                        stats.Errors.Enqueue($"read: {outcome}");
                    }
                }
                await Task.Delay(500, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The partition ended; an operation still in flight is not counted (nor acknowledged).
        }
    }

    private async Task DeleteAsync(MeshMember client, BookEntry file, string who, CancellationToken ct)
    {
        var answer = await Mesh.CallAsync(client, new JsonObject { ["op"] = "delete", ["cid"] = file.Cid }, StoreTimeout, ct);
        bool ok = answer["ok"]?.GetValue<bool>() == true;
        if (ok) file.DeletedBy = who;
        _report.Check($"delete by {who} acknowledged", ok,
            ok ? $"{file.Cid[..16]}…, {RunReport.Ms(answer["ms"]!.GetValue<double>())}" : $"{answer["error"]}: {answer["message"]}");
    }

    private async Task CheckReadableAsync(string name, IReadOnlyList<MeshMember> clients, List<BookEntry> files, CancellationToken ct)
    {
        var failures = new ConcurrentQueue<string>();
        int reads = 0;
        foreach (var client in clients)
        {
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (f, c) =>
            {
                var (outcome, _) = await FileBook.ReadAsync(client, f, ReadTimeout, c);
                Interlocked.Increment(ref reads);
                if (outcome != "ok") failures.Enqueue($"{client.Name} {f.Cid[..16]}… ({f.Origin}, {f.Size} B): {outcome}");
            });
        }
        _report.Check(name, failures.IsEmpty, $"{reads - failures.Count} of {reads} reads ok" +
            (failures.IsEmpty ? "" : "; " + string.Join(" | ", failures.Take(5))));
    }

    /// <summary>A deleted file must not read back from anywhere: every client's read fails.</summary>
    private async Task<bool> CheckDeletedAsync(string? name, IReadOnlyList<MeshMember> clients, CancellationToken ct)
    {
        var back = new List<string>();
        var reasons = new HashSet<string>();
        foreach (var f in _book.Deleted)
        {
            foreach (var client in clients)
            {
                var (outcome, _) = await FileBook.ReadAsync(client, f, ReadTimeout, ct);
                if (outcome == "ok" || outcome == "wrong bytes") back.Add($"{client.Name} read {f.Cid[..16]}… (deleted by {f.DeletedBy})");
                else reasons.Add(outcome.Length > 90 ? outcome[..90] + "…" : outcome);
            }
        }
        bool ok = back.Count == 0;
        if (name is not null)
            _report.Check(name, ok, ok ? $"{_book.Deleted.Count()} deleted files, every read refused: {string.Join(" | ", reasons)}" : string.Join(" | ", back));
        return ok;
    }

    /// <summary>
    /// Polls until every live file is fully repaired and every deleted file stays unreadable, within the budget. Returns
    /// the time from <paramref name="since"/> until then, or null (a failed check) when the budget ran out.
    /// </summary>
    private async Task<TimeSpan?> ConvergeAsync(string what, MeshMember asker, IReadOnlyList<MeshMember> clients, TimeSpan since, CancellationToken ct)
    {
        _report.Phase($"repair converges {what} (budget {options.ConvergeBudgetSeconds} s)");
        var deadline = since + TimeSpan.FromSeconds(options.ConvergeBudgetSeconds);
        var pending = _book.Live.ToDictionary(f => f.Cid);
        string last = "";
        int polls = 0;
        TimeSpan? notBefore = null;
        while (true)
        {
            polls++;
            var notYet = new ConcurrentDictionary<string, string>();
            await Parallel.ForEachAsync(pending.Values.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (f, c) =>
            {
                if (await RepairStateAsync(asker, f, _mesh.LiveNodes.Count(), c) is { } why) notYet[f.Cid] = why;
            });
            foreach (var cid in pending.Keys.Where(k => !notYet.ContainsKey(k)).ToList()) pending.Remove(cid);
            bool deletedOk = await CheckDeletedAsync(null, clients, ct);
            var elapsed = _mesh.Clock.Elapsed - since;
            if (pending.Count == 0 && deletedOk)
            {
                // A poll of every pending file takes a while: repair was complete somewhere between the end of the
                // last poll that still found something and the end of this one.
                _report.Check($"repair converges {what}", true,
                    $"{_book.Live.Count()} files fully repaired, deleted files unreadable; found {RunReport.Seconds(elapsed.TotalSeconds)} after the fault" +
                    (notBefore is { } nb ? $", not yet at {RunReport.Seconds(nb.TotalSeconds)}" : " by the first poll") + $"; {polls} polls");
                return elapsed;
            }
            last = $"{pending.Count} files not fully repaired ({string.Join(" | ", notYet.Values.Take(3))}){(deletedOk ? "" : "; a deleted file read back")}";
            if (_mesh.Clock.Elapsed > deadline)
            {
                _report.Check($"repair converges {what}", false, $"not within {options.ConvergeBudgetSeconds} s: {last}");
                // Every client's view of the files still pending: one asker's view alone cannot tell a repair that did not
                // happen from a holder that asker cannot reach.
                foreach (var f in _book.Live.Where(f => pending.ContainsKey(f.Cid)).Take(5))
                    foreach (var c in clients)
                        _report.Note($"{c.Name}'s view of {f.Cid[..12]}…: {await RepairStateAsync(c, f, _mesh.LiveNodes.Count(), ct) ?? "fully repaired"}");
                return null;
            }
            notBefore = elapsed;
            double repairedNow = await _mesh.SumCounterAsync("zentalk.mesh.shards_repaired", ct);
            _report.Note($"not yet: {last}; the live nodes have repaired {repairedNow:N0} shards since their start");
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(2, options.RepairSeconds)), ct);
        }
    }

    /// <summary>
    /// Null when every segment has all its shards verified and no node alone holds two of them (or, with fewer live
    /// nodes than shards, every live node holds some: repair spreads crowded shards only onto nodes that are not the
    /// only holder of a shard, and then there are none); else why not.
    /// </summary>
    private static async Task<string?> RepairStateAsync(MeshMember asker, BookEntry file, int liveNodes, CancellationToken ct)
    {
        JsonObject answer;
        try
        {
            answer = await Mesh.CallAsync(asker, new JsonObject { ["op"] = "status", ["cid"] = file.Cid }, ReadTimeout, ct);
        }
        catch (TimeoutException)
        {
            return $"{file.Cid[..12]}…: status timed out";
        }
        if (answer["ok"]?.GetValue<bool>() != true) return $"{file.Cid[..12]}…: {answer["message"]}";
        foreach (var s in answer["segments"]!.AsArray())
        {
            int verified = s!["verified"]!.GetValue<int>(), expected = s["expected"]!.GetValue<int>(), crowded = s["crowded"]!.GetValue<int>();
            // With fewer live nodes than shards some node must hold two; then every live node holding one is the best there is.
            bool crowdingUnavoidable = liveNodes < expected && s["holders"]!.GetValue<int>() >= liveNodes;
            if (verified < expected || (crowded > 0 && !crowdingUnavoidable))
                return $"{file.Cid[..12]}…: {verified}/{expected} verified on {s["holders"]} nodes, {crowded} crowded";
        }
        return null;
    }

    /// <summary>Churn: each round one node leaves for good (SIGTERM) and a new node joins on a new address; the mesh gets
    /// a few repair intervals of workload before the next round.</summary>
    private async Task ChurnAsync(MeshMember client, IReadOnlyList<MeshMember> clients, CancellationToken ct)
    {
        _report.Phase($"churn: {options.ChurnRounds} rounds, each: one node leaves, one joins, {options.ChurnIntervals} repair intervals of work");
        int left = 0, joined = 0, stores = 0, storesFailed = 0;
        var exitCodes = new List<int>();
        for (int round = 0; round < options.ChurnRounds; round++)
        {
            var candidates = _mesh.LiveNodes.ToList();
            var leaving = candidates[_random.Next(candidates.Count)];
            int code = await _mesh.StopAsync(leaving);
            exitCodes.Add(code);
            left++;
            await _mesh.AddNodesAsync(1, 1, ct);
            joined++;
            _report.Note($"round {round + 1}: {leaving.Name} left (exit code {code}), {_mesh.Nodes[^1].Name} ({_mesh.Nodes[^1].Host.Address}) joined");
            var until = _mesh.Clock.Elapsed + TimeSpan.FromSeconds(options.ChurnIntervals * options.RepairSeconds);
            while (_mesh.Clock.Elapsed < until)
            {
                var (file, _) = await _book.StoreAsync(client, _book.NextSize(), "churn", StoreTimeout, ct);
                if (file is null) storesFailed++;
                else stores++;
                await Task.Delay(1000, ct);
            }
        }
        _report.Figure("churn", $"{left} nodes left, {joined} joined; {stores} stores ok, {storesFailed} failed meanwhile");
        _report.Check("nodes leave cleanly on SIGTERM", exitCodes.All(c => c == 0), $"exit codes {string.Join(", ", exitCodes)}");
        await ConvergeAsync("after churn", client, clients, _mesh.Clock.Elapsed, ct);
        await CheckReadableAsync("every acknowledged file reads back after churn", clients, _book.Live.ToList(), ct);
    }

    /// <summary>Kills several nodes at once and times the repair (files fully repaired on the remaining nodes).</summary>
    private async Task KillManyAsync(MeshMember client, IReadOnlyList<MeshMember> clients, CancellationToken ct)
    {
        var live = _mesh.LiveNodes.ToList();
        var victims = live.OrderBy(_ => _random.Next()).Take(options.KillAtOnce).ToList();
        _report.Phase($"kill -9 {victims.Count} of {live.Count} nodes at once: {string.Join(", ", victims.Select(v => v.Name))}");
        var killed = _mesh.Clock.Elapsed;
        foreach (var v in victims) await _mesh.KillAsync(v);
        var repaired = await ConvergeAsync($"after killing {victims.Count} of {live.Count}", client, clients, killed, ct);
        if (repaired is { } r)
            _report.Figure($"repair after killing {victims.Count} of {live.Count}",
                $"{RunReport.Seconds(r.TotalSeconds)} from the kill until every segment is 15/15 verified with no crowded node (repair every {options.RepairSeconds} s)");
        await CheckReadableAsync($"every acknowledged file reads back with {victims.Count} nodes down", clients, _book.Live.ToList(), ct);
        foreach (var v in victims) await _mesh.StartNodeAsync(v, ct);
    }

    private void ReportMemory()
    {
        bool ok = true;
        var lines = new List<string>();
        long worstPeak = 0;
        foreach (var m in _mesh.Nodes.Concat(_mesh.Clients))
        {
            List<(double T, long Rss)> samples;
            lock (m.RssSamples) samples = [.. m.RssSamples];
            if (samples.Count == 0) continue;
            long peak = samples.Max(s => s.Rss), last = samples[^1].Rss;
            worstPeak = Math.Max(worstPeak, peak);
            // Quarters of the node's own samples: a node whose memory keeps growing shows it as a rising last quarter.
            var quarters = Enumerable.Range(0, 4).Select(q => samples.Skip(q * samples.Count / 4).Take(Math.Max(1, samples.Count / 4)).Max(s => s.Rss)).ToArray();
            lines.Add($"{m.Name} {string.Join("/", quarters.Select(q => (q >> 20).ToString(CultureInfo.InvariantCulture)))} (peak {peak >> 20}, last {last >> 20})");
            if (peak > options.RssCeiling) ok = false;
        }
        _report.Figure("RSS per process in MiB, max of each quarter of the run", string.Join("; ", lines));
        _report.Check("no node's RSS passes the ceiling", ok, $"largest peak {RunReport.MiB(worstPeak)}, ceiling {RunReport.MiB(options.RssCeiling)}");
    }
}
