using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ZenTalk.Testnet.Network;

namespace ZenTalk.Testnet.Scenarios;

/// <summary>
/// The running testnet as the coordinator sees it: the network, the storage nodes (index i at 198.18.(1 + i/2).(10 + i%2),
/// two per /24, port 7000 each), the clients (198.18.(200 + j).10), each node's RSS sampled every second, and the
/// operations a scenario performs on them: kill -9, restart from the same data, stop, add a new node.
/// </summary>
internal sealed class Mesh : IAsyncDisposable
{
    public const int Port = 7000;
    private readonly string _root;
    private readonly double _repairSeconds;
    private readonly List<MeshMember> _nodes = [];
    private readonly List<MeshMember> _clients = [];
    private readonly CancellationTokenSource _sampling = new();
    private Task _sampler = Task.CompletedTask;

    private Mesh(TestnetNetwork network, string root, double repairSeconds)
    {
        Network = network;
        _root = root;
        _repairSeconds = repairSeconds;
    }

    public TestnetNetwork Network { get; }

    public IReadOnlyList<MeshMember> Nodes => _nodes;

    public IReadOnlyList<MeshMember> Clients => _clients;

    public IEnumerable<MeshMember> LiveNodes => _nodes.Where(n => n.Running);

    public string Root => _root;

    /// <summary>The hosts' log level (ZENTALK_TESTNET_LOG, default Warning); their logs are in logs/ under the root.</summary>
    private static string LogLevel => Environment.GetEnvironmentVariable("ZENTALK_TESTNET_LOG") ?? "Warning";

    public static IPAddress NodeAddress(int i) => IPAddress.Parse($"198.18.{1 + (i / 2)}.{10 + (i % 2)}");

    public static IPAddress ClientAddress(int j) => IPAddress.Parse($"198.18.{200 + j}.10");

    public static async Task<Mesh> CreateAsync(LinkShape shape, string root, double repairSeconds, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(root, "logs"));
        var network = await TestnetNetwork.CreateAsync(shape, cancellationToken);
        var mesh = new Mesh(network, root, repairSeconds);
        mesh._sampler = mesh.SampleAsync(mesh._sampling.Token);
        return mesh;
    }

    /// <summary>Adds <paramref name="count"/> storing nodes: namespaces and links first, then the processes, the first three
    /// one by one, the rest <paramref name="parallel"/> at a time, each bootstrapping from the first three running nodes.</summary>
    public async Task AddNodesAsync(int count, int parallel, CancellationToken cancellationToken)
    {
        int first = _nodes.Count;
        var hosts = new List<MeshMember>();
        for (int i = first; i < first + count; i++)
        {
            var host = await Network.AddHostAsync($"n{i}", NodeAddress(i), cancellationToken);
            var member = new MeshMember(i, host, Path.Combine(_root, $"n{i}"), Path.Combine(_root, "logs", $"n{i}.log"), client: false);
            hosts.Add(member);
            _nodes.Add(member);
        }
        // The first three alone, so that every later node has three bootstrap peers.
        int next = 0;
        for (; next < hosts.Count && hosts[next].Index < 3; next++) await StartNodeAsync(hosts[next], cancellationToken);
        foreach (var batch in hosts.Skip(next).Chunk(parallel))
            await Task.WhenAll(batch.Select(m => StartNodeAsync(m, cancellationToken)));
    }

    /// <summary>Bootstrap peers: the first three nodes that are running (the same list at a restart).</summary>
    private IEnumerable<string> BootstrapFor(MeshMember member) =>
        _nodes.Where(n => n != member && n.Bootstrap is not null && n.Process is { HasExited: false }).Take(3).Select(n => n.Bootstrap!);

    public async Task StartNodeAsync(MeshMember node, CancellationToken cancellationToken)
    {
        var args = new List<string>
        {
            "node", "--listen", node.Host.Address.ToString(), "--port", Port.ToString(CultureInfo.InvariantCulture), "--data", node.DataDirectory,
            "--repair-interval", _repairSeconds.ToString(CultureInfo.InvariantCulture), "--log", LogLevel,
        };
        var bootstrap = BootstrapFor(node).ToList();
        if (bootstrap.Count > 0) args.AddRange(["--bootstrap", string.Join(',', bootstrap)]);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        node.Process = await HostProcess.StartAsync(node.Host, args, node.LogPath, TimeSpan.FromSeconds(60), cancellationToken);
        node.LastStart = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        node.Bootstrap = node.Process.Ready["bootstrap"]!.GetValue<string>();
        node.Starts++;
    }

    /// <summary>Adds a client (a device that stores nothing for others) bootstrapping from <paramref name="through"/>.</summary>
    public async Task<MeshMember> AddClientAsync(IEnumerable<MeshMember> through, CancellationToken cancellationToken)
    {
        int j = _clients.Count;
        var host = await Network.AddHostAsync($"c{j}", ClientAddress(j), cancellationToken);
        var client = new MeshMember(j, host, Path.Combine(_root, $"c{j}"), Path.Combine(_root, "logs", $"c{j}.log"), client: true);
        var args = new List<string>
        {
            "client", "--listen", host.Address.ToString(), "--data", client.DataDirectory,
            "--owner-key", Path.Combine(_root, "owner-key.pem"), "--log", LogLevel,
            "--bootstrap", string.Join(',', through.Select(n => n.Bootstrap)),
        };
        client.Process = await HostProcess.StartAsync(host, args, client.LogPath, TimeSpan.FromSeconds(60), cancellationToken);
        client.Process.Transcript = new StreamWriter(Path.ChangeExtension(client.LogPath, ".ops.jsonl")) { AutoFlush = true };
        client.Starts++;
        _clients.Add(client);
        // Ready means started, not joined: on a loaded machine the first bootstrap calls can all time out, and the node
        // tries them again a few seconds later. Work starts once it knows its neighbourhood (or after 60 s).
        int want = Math.Min(LiveNodes.Count(), 20);
        var deadline = Clock.Elapsed + TimeSpan.FromSeconds(60);
        while ((await NetworkOfAsync(client, cancellationToken)).Table < want && Clock.Elapsed < deadline)
            await Task.Delay(1000, cancellationToken);
        return client;
    }

    /// <summary>SIGKILL: the node dies mid-whatever; its directory stays for a restart.</summary>
    public async Task KillAsync(MeshMember node)
    {
        node.Process!.Kill();
        await node.Process.DisposeAsync();
        node.Process = null;
        node.CpuOfEarlierStarts += node.CpuOfThisStart;
        node.CpuOfThisStart = TimeSpan.Zero;
    }

    /// <summary>SIGTERM: the node stops cleanly (a node leaving the mesh).</summary>
    public async Task<int> StopAsync(MeshMember node)
    {
        int code = await node.Process!.StopAsync(TimeSpan.FromSeconds(20));
        await node.Process.DisposeAsync();
        node.Process = null;
        node.CpuOfEarlierStarts += node.CpuOfThisStart;
        node.CpuOfThisStart = TimeSpan.Zero;
        return code;
    }

    /// <summary>Asks a running node or client for something; the answer's "ok" says whether it worked.</summary>
    public static Task<JsonObject> CallAsync(MeshMember member, JsonObject request, TimeSpan timeout, CancellationToken cancellationToken) =>
        member.Process!.CallAsync(request, timeout, cancellationToken);

    /// <summary>Waits (up to 60 s) until every node's routing table holds min(nodes - 1, 20) peers; reports the sizes.</summary>
    public async Task WaitForTablesAsync(RunReport report, CancellationToken ct)
    {
        int want = Math.Min(_nodes.Count - 1, 20);
        var deadline = Clock.Elapsed + TimeSpan.FromSeconds(60);
        int[] sizes;
        while (true)
        {
            sizes = await Task.WhenAll(LiveNodes.Select(async x => (await NetworkOfAsync(x, ct)).Table));
            if (sizes.Min() >= want || Clock.Elapsed > deadline) break;
            await Task.Delay(1000, ct);
        }
        report.Figure("routing tables", $"min {sizes.Min()}, max {sizes.Max()} of {_nodes.Count - 1} other nodes");
        report.Check("every node knows its neighbourhood", sizes.Min() >= want, $"smallest table {sizes.Min()}, wanted {want}");
    }

    /// <summary>A node's or client's routing table size and the shards it holds.</summary>
    public static async Task<(int Table, long Shards)> NetworkOfAsync(MeshMember member, CancellationToken ct)
    {
        var answer = await CallAsync(member, new JsonObject { ["op"] = "network" }, TimeSpan.FromSeconds(30), ct);
        if (answer["ok"]?.GetValue<bool>() != true) throw new InvalidOperationException($"{member.Name}: network: {answer["message"]}");
        return (answer["table"]!.GetValue<int>(), answer["shards"]!.GetValue<long>());
    }

    /// <summary>CPU seconds used so far by all nodes together, the clients together, and this process (the relays).</summary>
    public (double Nodes, double Clients, double Coordinator) CpuSeconds()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return (_nodes.Sum(n => n.Cpu.TotalSeconds), _clients.Sum(c => c.Cpu.TotalSeconds), self.TotalProcessorTime.TotalSeconds);
    }

    /// <summary>One of the live nodes' own counters, summed (each since its last start).</summary>
    public async Task<double> SumCounterAsync(string name, CancellationToken ct)
    {
        var answers = await Task.WhenAll(LiveNodes.ToList().Select(n => CallAsync(n, new JsonObject { ["op"] = "network" }, TimeSpan.FromSeconds(30), ct)));
        return answers.Sum(a => a["counters"]?[name]?.GetValue<double>() ?? 0);
    }

    /// <summary>Sums of a few of the nodes' own counters (since each one's last start): inbound connections refused by a
    /// limit (per address, per /24), connections dropped for a violation or timeout, failed calls.</summary>
    public async Task<string> NodeCountersAsync(CancellationToken ct)
    {
        string[] names = ["zentalk.mesh.rpc.connections_refused", "zentalk.mesh.rpc.peers_dropped", "zentalk.mesh.rpc.calls_failed", "zentalk.mesh.rpc.calls_sent"];
        var sums = new double[names.Length];
        foreach (var node in LiveNodes.ToList())
        {
            var answer = await CallAsync(node, new JsonObject { ["op"] = "network" }, TimeSpan.FromSeconds(30), ct);
            if (answer["counters"] is not JsonObject counters) continue;
            for (int i = 0; i < names.Length; i++) sums[i] += counters[names[i]]?.GetValue<double>() ?? 0;
        }
        return $"inbound connections refused by a limit {sums[0]:N0}, connections dropped {sums[1]:N0}, calls failed {sums[2]:N0} of {sums[3]:N0}";
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                double t = Clock.Elapsed.TotalSeconds;
                List<MeshMember> members;
                lock (_nodes) members = [.. _nodes, .. _clients];
                foreach (var m in members)
                {
                    if (m.Process?.Rss() is { } rss)
                        lock (m.RssSamples) m.RssSamples.Add((t, rss));
                    if (m.Process?.Cpu() is { } cpu) m.CpuOfThisStart = cpu;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    /// <summary>The run's clock (RSS samples and phase times are on it).</summary>
    public System.Diagnostics.Stopwatch Clock { get; } = System.Diagnostics.Stopwatch.StartNew();

    public async ValueTask DisposeAsync()
    {
        await _sampling.CancelAsync();
        await _sampler;
        await Task.WhenAll(_clients.Concat(_nodes).Where(m => m.Process is not null).Select(m => m.Process!.DisposeAsync().AsTask()));
        await Network.DisposeAsync();
        _sampling.Dispose();
    }
}

/// <summary>A storage node or client of the testnet.</summary>
internal sealed class MeshMember(int index, TestnetHost host, string dataDirectory, string logPath, bool client)
{
    public int Index { get; } = index;
    public TestnetHost Host { get; } = host;
    public string DataDirectory { get; } = dataDirectory;
    public string LogPath { get; } = logPath;
    public bool IsClient { get; } = client;
    public string Name => Host.Name;
    public HostProcess? Process { get; set; }
    public string? Bootstrap { get; set; }
    public int Starts { get; set; }

    /// <summary>How long the last start took, until the ready line (the node had joined through its bootstrap peers).</summary>
    public TimeSpan LastStart { get; set; }

    /// <summary>CPU time of the running process (sampled every second), and of the process's earlier lives.</summary>
    public TimeSpan CpuOfThisStart { get; set; }

    public TimeSpan CpuOfEarlierStarts { get; set; }

    public TimeSpan Cpu => CpuOfEarlierStarts + CpuOfThisStart;

    /// <summary>(seconds on the run's clock, RSS bytes), one per second while the process runs.</summary>
    public List<(double T, long Rss)> RssSamples { get; } = [];

    public bool Running => Process is { HasExited: false };
}
