using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>How <see cref="OutsideFlood"/> runs.</summary>
internal sealed record OutsideFloodOptions
{
    /// <summary>The storage node operators run: the built ZenTalk.StorageNode.dll (<c>zentalk-node</c>), run with <c>dotnet</c>.</summary>
    public required string NodeTool { get; init; }

    /// <summary>The hostile program: the built ZenTalk.HostilePeer.dll (tests/ZenTalk.HostilePeer), run with <c>dotnet</c>.</summary>
    public required string HostilePeer { get; init; }

    /// <summary>Where the nodes' data directories go (one each; removed by the caller).</summary>
    public required string Directory { get; init; }

    public int Nodes { get; init; } = 12;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The hostile program's connections pipelining 1 MiB PUT_SHARDs that no owner authorized.</summary>
    public int ShardConnections { get; init; } = 3;

    /// <summary>The hostile program's connections pipelining STORE_VALUEs of junk records.</summary>
    public int RecordConnections { get; init; } = 3;
}

/// <summary>What the hostile program printed at its end (its JSON line), with the figures the driver checks.</summary>
internal sealed record HostileFloodReport(string Line, long Connections, long Records, long RecordBytes, long Shards, long ShardBytes,
    long PutsAnswered, long PutsAnsweredOk, long ShardsKept, long ShardBytesKept)
{
    public static HostileFloodReport Parse(string line)
    {
        var json = JsonNode.Parse(line)!.AsObject();
        long N(string name) => json[name]!.GetValue<long>();
        var puts = json["putAnswers"]!.AsObject();
        return new HostileFloodReport(line, N("connections"), N("records"), N("recordBytes"), N("shards"), N("shardBytes"),
            puts.Sum(p => p.Value!.GetValue<long>()), puts["Ok"]?.GetValue<long>() ?? 0, N("shardsKept"), N("shardBytesKept"));
    }
}

/// <summary>What an <see cref="OutsideFlood"/> run did and what the victim and the honest user saw.</summary>
internal sealed record OutsideFloodReport(
    int Nodes, TimeSpan Duration, long RssBefore, long RssMaxSampled, long PeakRss, long RssAfter, HostileFloodReport Hostile,
    NodeNetwork Before, NodeNetwork After, IReadOnlyList<string> Honest, long HonestBytes, int HonestMismatches, int HonestFailures,
    int HonestReads, string LoadAverage)
{
    /// <summary>How far the victim's resident set grew above its level before the flood (its peak since then, VmHWM, counts).</summary>
    public long RssGrowth => Math.Max(PeakRss, RssMaxSampled) - RssBefore;

    /// <summary>Shard bytes the victim stores more after the run than before (<c>GET /network</c>): the honest files' shards it holds, and anything else it kept.</summary>
    public long StoredGrowth => After.StoredBytes - Before.StoredBytes;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Nodes} zentalk-node processes; {Duration.TotalSeconds:0} s of flood at one node from the hostile program ({Hostile.Connections} TLS connections): "
        + $"{Hostile.Records} STORE_VALUE ({Hostile.RecordBytes >> 20} MiB of records), {Hostile.Shards} unauthorized PUT_SHARD ({Hostile.ShardBytes >> 20} MiB), "
        + $"{Hostile.PutsAnswered} puts answered, {Hostile.PutsAnsweredOk} of them OK; "
        + $"victim RSS {RssBefore >> 20} MiB before, max sampled {RssMaxSampled >> 20} MiB, peak (VmHWM) {PeakRss >> 20} MiB, {RssAfter >> 20} MiB after: growth {RssGrowth >> 20} MiB; "
        + $"unauthorized shards it holds afterwards (HAS_SHARDS): {Hostile.ShardsKept} ({Hostile.ShardBytesKept} bytes); "
        + $"GET /network: {Before.StoredShards} shards / {Before.StoredBytes} bytes before, {After.StoredShards} / {After.StoredBytes} after ({HonestBytes} honest bytes uploaded); "
        + $"honest: {string.Join("; ", Honest)}; {HonestMismatches} mismatches, {HonestFailures} failures; load average {LoadAverage}\n"
        + $"hostile program's report: {Hostile.Line}");
}

/// <summary>
/// The out-of-process run of issue 16. A mesh of <c>zentalk-node</c> processes on loopback (<see cref="NodeToolProcess"/>:
/// each made by <c>zentalk-node init</c> in a data directory of its own, on its own 127.0.0.x address, with mesh and
/// REST ports the OS chose), all bootstrapped through the first. A hostile program of its own
/// (tests/ZenTalk.HostilePeer: its own TLS identity, the wire protocol written from docs/protocol.md, from another host
/// address, 127.0.1.200) floods one victim for the run's duration with junk records and 1 MiB PUT_SHARDs that no owner
/// authorized, then asks the victim which of those shards it kept and prints its figures as a JSON line. Meanwhile an
/// honest user (this process, through the victim's REST API with its bearer token) uploads two files through the
/// victim and downloads them from it; after the flood both are downloaded again through the victim and through another
/// node. The victim's RSS comes from <c>/proc</c> every 200 ms, what it stores from <c>GET /network</c>. Everything
/// stops by itself.
/// </summary>
internal static class OutsideFlood
{
    private static readonly TimeSpan HonestBudget = TimeSpan.FromSeconds(180);

    public static async Task<OutsideFloodReport> RunAsync(OutsideFloodOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var nodes = new List<NodeToolProcess>();
        try
        {
            // Node 0 first (everyone's bootstrap), the rest side by side; 127.0.0.11 and up.
            var clock = Stopwatch.StartNew();
            nodes.Add(await NodeToolProcess.StartAsync(options.NodeTool, "127.0.0.11", Data(options, 0), null, cancellationToken).ConfigureAwait(false));
            var starting = Enumerable.Range(1, options.Nodes - 1).Select(i =>
                NodeToolProcess.StartAsync(options.NodeTool, $"127.0.0.{11 + i}", Data(options, i), nodes[0].Bootstrap, cancellationToken)).ToList();
            try
            {
                await Task.WhenAll(starting).ConfigureAwait(false);
            }
            finally
            {
                // Every node that did start is stopped again below, also when another one failed.
                nodes.AddRange(starting.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result));
            }

            var victim = nodes[options.Nodes / 2];
            log($"{nodes.Count} zentalk-node processes up in {clock.Elapsed.TotalSeconds:0} s; victim {victim.Bootstrap}, REST {victim.Api} (pid {victim.ProcessId})");
            await WarmAsync(nodes, log, cancellationToken).ConfigureAwait(false);
            return await FloodAsync(options, victim, nodes[0], log, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask())).ConfigureAwait(false);
        }
    }

    private static string Data(OutsideFloodOptions options, int i) => Path.Combine(options.Directory, "n" + i.ToString(CultureInfo.InvariantCulture));

    /// <summary>Waits (at most 60 s) until every node's routing table holds most of the mesh, as <c>GET /network</c> says.</summary>
    private static async Task WarmAsync(List<NodeToolProcess> nodes, Action<string> log, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var tables = await Task.WhenAll(nodes.Select(n => n.NetworkAsync(cancellationToken))).ConfigureAwait(false);
            if (tables.All(t => t.RoutingTableSize >= nodes.Count - 3) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                log($"routing tables after {deadline.Elapsed.TotalSeconds:0} s: {string.Join(' ', tables.Select(t => t.RoutingTableSize))}");
                return;
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<OutsideFloodReport> FloodAsync(OutsideFloodOptions options, NodeToolProcess victim, NodeToolProcess other, Action<string> log,
        CancellationToken cancellationToken)
    {
        // What the attacker can get hold of: the victim owner's delegation to the victim, which every holder of the
        // victim's uploads is shown on each put. Written where the hostile program reads it.
        var replay = Path.Combine(options.Directory, "replayed-delegation.bin");
        using (var owner = OwnerKey.ImportPem(victim.OwnerKeyPem))
        {
            var victimId = NodeId.Parse(victim.Bootstrap[(victim.Bootstrap.LastIndexOf('@') + 1)..]);
            await File.WriteAllBytesAsync(replay, StoreDelegations.Create(owner, victimId, 0, DateTimeOffset.UtcNow.AddHours(6)).ToByteArray(), cancellationToken).ConfigureAwait(false);
        }

        var before = await victim.NetworkAsync(cancellationToken).ConfigureAwait(false);
        var rssBefore = victim.Memory().Rss;
        victim.ResetPeak();
        log($"victim before the flood: RSS {rssBefore >> 20} MiB, {before.StoredShards} shards, {before.StoredBytes} bytes");

        var flooding = StartHostile(options, victim, replay, log);
        var floodClock = Stopwatch.StartNew();
        bool FloodOver() => floodClock.Elapsed >= options.Duration;
        long rssMax = rssBefore;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                rssMax = Math.Max(rssMax, victim.Memory().Rss);
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None);

        // The honest user, during the flood: two files uploaded through the victim and downloaded from it.
        using var honest = new Honest(victim.Token, HonestBudget, cancellationToken);
        var files = new List<(string Cid, string Key, byte[] Data)>();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(3, options.Duration.TotalSeconds / 4)), cancellationToken).ConfigureAwait(false);
        foreach (var size in (int[])[200 * 1024, (3 << 20) + 100_000])
        {
            var data = RandomNumberGenerator.GetBytes(size);
            if (await honest.UploadAsync(victim, data, FloodOver).ConfigureAwait(false) is { } file)
            {
                files.Add((file.Cid, file.Key, data));
                await honest.DownloadAsync(victim, file.Cid, file.Key, data, "from the victim", FloodOver).ConfigureAwait(false);
            }
        }

        string line;
        try
        {
            line = await flooding.ConfigureAwait(false);
        }
        finally
        {
            await sampling.CancelAsync().ConfigureAwait(false);
            await sampler.ConfigureAwait(false);
        }

        var (rssAfter, peak) = victim.Memory();
        rssMax = Math.Max(rssMax, rssAfter);

        // After the flood, both files again: through the victim, and through another node.
        foreach (var (cid, key, data) in files)
        {
            await honest.DownloadAsync(victim, cid, key, data, "from the victim after the flood", () => true).ConfigureAwait(false);
            await honest.DownloadAsync(other, cid, key, data, "from another node after the flood", () => true).ConfigureAwait(false);
        }

        var after = await victim.NetworkAsync(cancellationToken).ConfigureAwait(false);
        var load = string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        return new OutsideFloodReport(options.Nodes, options.Duration, rssBefore, rssMax, peak, rssAfter, HostileFloodReport.Parse(line),
            before, after, honest.Results, files.Sum(f => (long)f.Data.Length), honest.Mismatches, honest.Failures, honest.Reads, load);
    }

    /// <summary>
    /// Starts the hostile program against the victim and returns its JSON line once it has exited (within the flood's
    /// duration plus 150 s, or it is killed); its standard error goes to the log.
    /// </summary>
    private static Task<string> StartHostile(OutsideFloodOptions options, NodeToolProcess victim, string replay, Action<string> log)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[options.HostilePeer, "flood", "--target", victim.Bootstrap,
                     "--seconds", ((int)options.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture), "--bind", "127.0.1.200",
                     "--shard-connections", options.ShardConnections.ToString(CultureInfo.InvariantCulture),
                     "--record-connections", options.RecordConnections.ToString(CultureInfo.InvariantCulture), "--replay-delegation", replay])
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + options.HostilePeer);
        var errors = new List<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            log("hostile: " + e.Data);
            lock (errors) errors.Add(e.Data);
        };
        process.BeginErrorReadLine();
        return Task.Run(async () =>
        {
            using (process)
            {
                using var bound = new CancellationTokenSource(options.Duration + TimeSpan.FromSeconds(150));
                try
                {
                    var output = await process.StandardOutput.ReadToEndAsync(bound.Token).ConfigureAwait(false);
                    await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
                    var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
                    if (process.ExitCode != 0 || last is null || !last.StartsWith('{'))
                    {
                        string said;
                        lock (errors) said = string.Join('\n', errors);
                        throw new InvalidOperationException($"the hostile program exited with {process.ExitCode}: {output}\n{said}");
                    }

                    return last;
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException("the hostile program did not finish within its duration plus 150 s");
                }
            }
        });
    }

    /// <summary>The honest user: REST requests to a node, each checked byte for byte, with what happened in words.</summary>
    private sealed class Honest(string token, TimeSpan budget, CancellationToken cancellationToken) : IDisposable
    {
        private readonly CancellationTokenSource _budget = CreateBudget(budget, cancellationToken);

        public List<string> Results { get; } = [];

        public int Mismatches { get; private set; }

        public int Failures { get; private set; }

        public int Reads { get; private set; }

        private static CancellationTokenSource CreateBudget(TimeSpan budget, CancellationToken cancellationToken)
        {
            var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            source.CancelAfter(budget);
            return source;
        }

        public void Dispose() => _budget.Dispose();

        private static string When(Func<bool> floodOver) => floodOver() ? "" : " (during the flood)";

        /// <summary><c>POST /upload</c> with the bearer token; the CID and key, or null when it failed (counted).</summary>
        public async Task<(string Cid, string Key)?> UploadAsync(NodeToolProcess node, byte[] data, Func<bool> floodOver)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "upload") { Content = new ByteArrayContent(data) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var response = await node.Http.SendAsync(request, _budget.Token).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.Created)
                    throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(_budget.Token).ConfigureAwait(false)}");
                using var json = await response.Content.ReadFromJsonAsync<JsonDocument>(_budget.Token).ConfigureAwait(false);
                var cid = json!.RootElement.GetProperty("cid").GetString()!;
                var key = json.RootElement.GetProperty("key").GetString()!;
                Results.Add(string.Create(CultureInfo.InvariantCulture, $"{data.Length} B uploaded through the victim in {clock.Elapsed.TotalSeconds:0.0} s{When(floodOver)}"));
                return (cid, key);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                Failures++;
                Results.Add($"{data.Length} B upload FAILED: {e.GetType().Name}: {e.Message}");
                return null;
            }
        }

        /// <summary><c>GET /download/{cid}</c> with the key in its header, compared with <paramref name="data"/> byte for byte.</summary>
        public async Task DownloadAsync(NodeToolProcess node, string cid, string key, byte[] data, string how, Func<bool> floodOver)
        {
            var clock = Stopwatch.StartNew();
            Reads++;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "download/" + cid);
                request.Headers.TryAddWithoutValidation("X-ZenTalk-Key", key);
                using var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _budget.Token).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.OK)
                    throw new HttpRequestException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(_budget.Token).ConfigureAwait(false)}");
                using var copy = new MemoryStream();
                await response.Content.CopyToAsync(copy, _budget.Token).ConfigureAwait(false);
                bool same = copy.Length == data.Length && copy.GetBuffer().AsSpan(0, data.Length).SequenceEqual(data);
                if (!same) Mismatches++;
                Results.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{data.Length} B downloaded {how} {(same ? "byte-identical" : "DIFFERENT")} in {clock.Elapsed.TotalSeconds:0.0} s{When(floodOver)}"));
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                Failures++;
                Results.Add($"{data.Length} B download {how} FAILED: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
