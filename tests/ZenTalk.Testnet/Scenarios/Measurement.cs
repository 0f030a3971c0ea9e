using System.Globalization;
using System.Text.Json.Nodes;
using ZenTalk.Testnet.Network;

namespace ZenTalk.Testnet.Scenarios;

/// <summary>The knobs of the measurement run.</summary>
internal sealed class MeasurementOptions
{
    public int Nodes { get; set; } = 30;
    public int RateMbit { get; set; } = 100;
    public double LatencyMs { get; set; } = 25;
    public int SmallOps { get; set; } = 20;
    public int LargeOps { get; set; } = 3;
    public int LargeMiB { get; set; } = 64;
    public int QueueMs { get; set; } = 50;
    public bool SlowStartAfterIdle { get; set; } = true;
    public string? Root { get; set; }
    public bool Keep { get; set; }
}

/// <summary>
/// Store and fetch timings on a quiet testnet: N storing nodes and one client, every host on its own shaped link. The
/// client's TCP connect time to a few nodes gives the measured round trip; each operation's wall time is also given in
/// round trips, beside the client's CPU time and the RPCs it sent (per kind) and the lookups it ran.
/// </summary>
internal sealed class Measurement(MeasurementOptions options)
{
    private const int Small = 256 * 1024;
    private RunReport _report = null!;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        string root = options.Root ?? Path.Combine(Path.GetTempPath(), "zentalk-testnet-" + Guid.NewGuid().ToString("N")[..8]);
        var shape = new LinkShape(options.RateMbit, TimeSpan.FromMilliseconds(options.LatencyMs), options.QueueMs, options.SlowStartAfterIdle);
        await using (var mesh = await Mesh.CreateAsync(shape, root, repairSeconds: 600, ct))
        {
            _report = new RunReport(mesh.Clock) { CpuSource = mesh.CpuSeconds };
            try
            {
                await RunPhasesAsync(mesh, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _report.Check("the run completes", false, $"{e.GetType().Name}: {e.Message}");
            }
            _report.Phase("stopping");
        }
        if (!options.Keep && !_report.Failed) Directory.Delete(root, recursive: true);
        _report.Finish();
        return _report.Failed ? 1 : 0;
    }

    private async Task RunPhasesAsync(Mesh mesh, CancellationToken ct)
    {
        _report.Phase($"topology: {options.Nodes} nodes and 1 client, {options.RateMbit} Mbit/s links ({options.QueueMs} ms queues), " +
            $"{options.LatencyMs} ms one way between hosts, slow start after idle {(options.SlowStartAfterIdle ? "on" : "off")}");
        await mesh.AddNodesAsync(options.Nodes, parallel: 8, ct);
        await mesh.WaitForTablesAsync(_report, ct);
        var client = await mesh.AddClientAsync(mesh.Nodes.Take(3), ct);
        var (table, _) = await Mesh.NetworkOfAsync(client, ct);
        _report.Figure("client routing table", $"{table} of {options.Nodes} nodes");

        var ping = await CallAsync(client, new JsonObject { ["op"] = "ping", ["address"] = mesh.Nodes[^1].Host.Address.ToString(), ["port"] = Mesh.Port, ["count"] = 10 }, ct);
        var connects = ping["connect_ms"]!.AsArray().Select(x => x!.GetValue<double>()).Order().ToList();
        // Operations are counted in configured round trips; the connect times check that the links give that.
        double rtt = 2 * options.LatencyMs;
        _report.Figure("round trip (TCP connect, client to a node)", $"p50 {RunReport.Ms(connects[connects.Count / 2])}, min {RunReport.Ms(connects[0])} (configured {RunReport.Ms(rtt)})");

        // A file to fetch, then the small operations back to back, then each after 2 s idle (TCP restarts slow start
        // on a connection idle for longer than its retransmission timeout, as real hosts do by default).
        var fetchable = await CallAsync(client, new JsonObject { ["op"] = "store", ["size"] = Small, ["seed"] = 7 }, ct);
        for (int i = 0; i < 5; i++)
        {
            await CallAsync(client, new JsonObject { ["op"] = "store", ["size"] = Small, ["seed"] = 100 + i }, ct);
            await CallAsync(client, Get(fetchable), ct);
        }
        foreach (int gap in new[] { 0, 2000 })
        {
            var stores = new List<JsonObject>();
            for (int i = 0; i < options.SmallOps; i++)
            {
                if (gap > 0) await Task.Delay(gap, ct);
                stores.Add(await CallAsync(client, new JsonObject { ["op"] = "store", ["size"] = Small, ["seed"] = 1000 + i }, ct));
            }
            Summarize($"store 256 KiB, gap {gap} ms", stores, rtt, Small * 1.5);
            var fetches = new List<JsonObject>();
            for (int i = 0; i < options.SmallOps; i++)
            {
                if (gap > 0) await Task.Delay(gap, ct);
                fetches.Add(await CallAsync(client, Get(fetchable), ct));
            }
            Summarize($"fetch 256 KiB, gap {gap} ms", fetches, rtt, Small);
        }

        int large = options.LargeMiB << 20;
        var largeStores = new List<JsonObject>();
        var largeFetches = new List<JsonObject>();
        for (int i = 0; i < options.LargeOps; i++)
        {
            var stored = await CallAsync(client, new JsonObject { ["op"] = "store", ["size"] = large, ["seed"] = 5000 + i }, ct);
            largeStores.Add(stored);
            largeFetches.Add(await CallAsync(client, Get(stored), ct));
        }
        if (options.LargeOps > 0)
        {
            Summarize($"store {options.LargeMiB} MiB", largeStores, rtt, large * 1.5);
            Summarize($"fetch {options.LargeMiB} MiB", largeFetches, rtt, large);
        }
        _report.Figure("relays", mesh.Network.RelayTotals());
        _report.Figure("nodes' counters", await mesh.NodeCountersAsync(ct));
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        _report.Figure("coordinator CPU (the relays, mostly)", RunReport.Seconds(self.TotalProcessorTime.TotalSeconds));
    }

    private static JsonObject Get(JsonObject stored) => new() { ["op"] = "get", ["cid"] = stored["cid"]!.GetValue<string>(), ["key"] = stored["key"]!.GetValue<string>() };

    private async Task<JsonObject> CallAsync(MeshMember client, JsonObject request, CancellationToken ct)
    {
        var answer = await Mesh.CallAsync(client, request, TimeSpan.FromMinutes(5), ct);
        if (answer["ok"]?.GetValue<bool>() != true)
            throw new InvalidOperationException($"{request["op"]} failed: {answer["error"]}: {answer["message"]}");
        return answer;
    }

    /// <summary>Wall time (p50, min, max), the same in round trips, CPU, the link use, and the mean RPCs per kind.</summary>
    private void Summarize(string name, List<JsonObject> ops, double rtt, double linkBytes)
    {
        var ms = ops.Select(o => o["ms"]!.GetValue<double>()).Order().ToList();
        double p50 = ms[ms.Count / 2];
        double cpu = ops.Select(o => o["cpu_ms"]!.GetValue<double>()).Order().ElementAt(ops.Count / 2);
        double mbit = linkBytes * 8 / (p50 / 1000) / 1e6;
        var counters = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var o in ops)
            foreach (var (k, v) in o["counters"]!.AsObject())
                counters[k] = counters.GetValueOrDefault(k) + v!.GetValue<double>() / ops.Count;
        // Calls per kind, each with its mean duration as the client saw it (a call waits for the answer: one round trip
        // plus what the holder and the link add).
        string calls = string.Join(", ", counters.Where(c => c.Key.StartsWith("zentalk.mesh.rpc.calls_sent/", StringComparison.Ordinal))
            .Select(c =>
            {
                string kind = c.Key["zentalk.mesh.rpc.calls_sent/".Length..];
                double n = counters.GetValueOrDefault($"zentalk.mesh.rpc.call_duration/{kind}.count");
                string mean = n > 0 ? $" of {counters[$"zentalk.mesh.rpc.call_duration/{kind}.sum"] / n:F0} ms" : "";
                return $"{kind} {c.Value:F1}{mean}";
            }));
        double lookups = counters.GetValueOrDefault("zentalk.mesh.dht.lookups");
        double rounds = counters.GetValueOrDefault("zentalk.mesh.dht.lookup_rounds.sum");
        _report.Figure(name, string.Create(CultureInfo.InvariantCulture,
            $"p50 {p50:F1} ms = {p50 / rtt:F2} round trips (min {ms[0]:F1}, max {ms[^1]:F1}); client CPU p50 {cpu:F1} ms; " +
            $"{mbit:F1} Mbit/s of {options.RateMbit} on the client's link ({mbit / options.RateMbit:P0}); per operation: {calls}; " +
            $"lookups {lookups:F2}, lookup rounds {rounds:F2} ({ops.Count} operations)"));
    }
}
