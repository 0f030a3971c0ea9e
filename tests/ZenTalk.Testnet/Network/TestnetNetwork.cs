using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace ZenTalk.Testnet.Network;

/// <summary>How each host's link is shaped.</summary>
/// <param name="RateMbit">Bandwidth of the link in each direction (tbf on both ends of the veth pair); 0 leaves it unshaped.</param>
/// <param name="OneWayLatency">Latency between two hosts, one way: each host's link adds half of it in each direction
/// (a user-space <see cref="LinkRelay"/>); zero puts the veth straight on the bridge.</param>
/// <param name="QueueMs">How long tbf's queue is, in milliseconds of the link's rate (beyond it, frames are dropped).</param>
/// <param name="SlowStartAfterIdle">net.ipv4.tcp_slow_start_after_idle in every host (Linux's default is on).</param>
internal sealed record LinkShape(int RateMbit, TimeSpan OneWayLatency, int QueueMs = 50, bool SlowStartAfterIdle = true);

/// <summary>One host of the testnet: its namespace, address and link.</summary>
internal sealed class TestnetHost
{
    public required string Name { get; init; }
    public required NodeNamespace Namespace { get; init; }
    public required IPAddress Address { get; init; }

    /// <summary>The interface that is the host's port on a bridge (moved between bridges for a partition).</summary>
    public required string BridgePort { get; init; }

    public LinkRelay? Relay { get; init; }

    /// <summary>Which bridge the host is on: 0 (the main one) or 1 (the other side of a partition).</summary>
    public int Side { get; set; }
}

/// <summary>
/// The testnet's network, built in the current network namespace, which must be a private one (only <c>lo</c> in it,
/// as <c>unshare -n</c> makes it): two Linux bridges (the second holds the far side of a partition), and per host a
/// child namespace joined by a veth pair, its address from 198.18.0.0/15 (on a /15, so every host is on-link), tbf on
/// both ends of the veth (uplink in the host's namespace, downlink outside) and, for latency, a relay between the
/// veth's outer end and a bridge port (a second veth pair). Nothing here can reach an address outside the namespace.
/// </summary>
internal sealed class TestnetNetwork : IAsyncDisposable
{
    /// <summary>The range every address comes from (RFC 2544, reserved for network benchmarking).</summary>
    public static readonly (IPAddress Network, int Prefix) Range = (IPAddress.Parse("198.18.0.0"), 15);

    private const string MainBridge = "tnbr0";
    private const string OtherBridge = "tnbr1";
    private readonly List<TestnetHost> _hosts = [];
    private readonly SemaphoreSlim _joining = new(1, 1);
    private readonly LinkShape _shape;

    private TestnetNetwork(LinkShape shape) => _shape = shape;

    public IReadOnlyList<TestnetHost> Hosts => _hosts;

    public LinkShape Shape => _shape;

    /// <summary>Checks that this namespace is private and empty, then creates the bridges.</summary>
    public static async Task<TestnetNetwork> CreateAsync(LinkShape shape, CancellationToken cancellationToken)
    {
        foreach (var tool in new[] { "ip", "tc", "unshare", "nsenter" })
            if (!Shell.OnPath(tool)) throw new InvalidOperationException($"the testnet needs '{tool}' (iproute2, util-linux) on PATH");
        var links = await Shell.RunAsync("ip", ["-o", "link", "show"], cancellationToken: cancellationToken);
        var names = links.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[1].Trim()).ToList();
        if (names.Any(n => n != "lo"))
            throw new InvalidOperationException("refusing to build the testnet in a namespace that has other interfaces than lo " +
                $"({string.Join(", ", names)}): run it inside 'unshare -n' (the program does so itself)");
        await Shell.IpBatchAsync(
        [
            "link set lo up",
            $"link add {MainBridge} type bridge",
            $"link set {MainBridge} up",
            $"link add {OtherBridge} type bridge",
            $"link set {OtherBridge} up",
        ], cancellationToken: cancellationToken);
        return new TestnetNetwork(shape);
    }

    /// <summary>Whether <paramref name="address"/> is in 198.18.0.0/15.</summary>
    public static bool InRange(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return b.Length == 4 && b[0] == 198 && (b[1] & 0xFE) == 18;
    }

    /// <summary>
    /// The MAC address of the host at <paramref name="address"/>: locally administered, the address's four bytes in its
    /// last four, so every host's neighbour entries for the others can be written without asking anyone.
    /// </summary>
    public static string MacOf(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return $"02:00:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}";
    }

    private static string NeighbourEntry(IPAddress address) => $"neigh replace {address} lladdr {MacOf(address)} dev eth0 nud permanent";

    /// <summary>
    /// Adds a host: its namespace, its link on the main bridge, its address and shaping, and static neighbour entries
    /// between it and every other host. The kernel's ARP table is one table for every namespace of the machine, and by
    /// default it holds 1,024 learned entries in all (net.ipv4.neigh.default.gc_thresh3, settable only outside any
    /// private namespace): 32 hosts that each talk to every other need 992, more while departed hosts' entries age out,
    /// and any other testnet on the machine shares the same table. Past the limit a host cannot resolve a new neighbour
    /// ("neighbour table overflow") and its connections to it time out. Permanent entries are not counted against it.
    /// </summary>
    public async Task<TestnetHost> AddHostAsync(string name, IPAddress address, CancellationToken cancellationToken)
    {
        if (!InRange(address)) throw new ArgumentException($"{address} is not in 198.18.0.0/15", nameof(address));
        var ns = await NodeNamespace.CreateAsync(name, cancellationToken);
        try
        {
            string pid = ns.Pid.ToString(CultureInfo.InvariantCulture);
            string outer = $"tn{name}v", inner = $"tn{name}e", port = $"tn{name}b", relayEnd = $"tn{name}r";
            bool relay = _shape.OneWayLatency > TimeSpan.Zero;
            var commands = new List<string> { $"link add {outer} type veth peer name {inner} netns {pid}" };
            if (relay)
            {
                commands.Add($"link add {port} type veth peer name {relayEnd}");
                commands.Add($"link set {port} master {MainBridge} up");
                commands.Add($"link set {relayEnd} promisc on up");
                commands.Add($"link set {outer} promisc on up");
            }
            else
            {
                commands.Add($"link set {outer} master {MainBridge} up");
            }
            await Shell.IpBatchAsync(commands, cancellationToken: cancellationToken);
            await Shell.IpBatchAsync(
            [
                "link set lo up",
                $"link set {inner} name eth0",
                $"link set eth0 address {MacOf(address)}",
                $"addr add {address}/{Range.Prefix} dev eth0",
                "link set eth0 up",
            ], ns, cancellationToken);
            if (_shape.RateMbit > 0)
            {
                // The uplink in the host's namespace, the downlink on the veth's outer end (where the relay or the bridge
                // hands it frames). The burst holds one 64 KiB offload frame, so tbf passes them whole (a smaller burst
                // would cut them into MTU frames, 40 times the frames through the relay).
                string[] tbf = ["root", "tbf", "rate", $"{_shape.RateMbit}mbit", "burst", "68000", "latency", $"{_shape.QueueMs}ms"];
                await Shell.InAsync(ns, ["tc", "qdisc", "add", "dev", "eth0", .. tbf]);
                await Shell.RunAsync("tc", ["qdisc", "add", "dev", outer, .. tbf], cancellationToken: cancellationToken);
            }
            if (!_shape.SlowStartAfterIdle) await Shell.InAsync(ns, "sysctl", "-q", "-w", "net.ipv4.tcp_slow_start_after_idle=0");
            await _joining.WaitAsync(cancellationToken);
            try
            {
                List<TestnetHost> others;
                lock (_hosts) others = [.. _hosts];
                if (others.Count > 0) await Shell.IpBatchAsync(others.Select(o => NeighbourEntry(o.Address)), ns, cancellationToken);
                await Parallel.ForEachAsync(others, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                    async (o, ct) => await Shell.IpBatchAsync([NeighbourEntry(address)], o.Namespace, ct));
                var host = new TestnetHost
                {
                    Name = name,
                    Namespace = ns,
                    Address = address,
                    BridgePort = relay ? port : outer,
                    Relay = relay ? LinkRelay.Start(outer, relayEnd, _shape.OneWayLatency / 2) : null,
                };
                lock (_hosts) _hosts.Add(host);
                return host;
            }
            finally
            {
                _joining.Release();
            }
        }
        catch
        {
            ns.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Splits the network in two: the hosts in <paramref name="farSide"/> move to the second bridge, where they reach each
    /// other and nobody else; everyone else stays on the main bridge. Open connections across the cut go silent (their
    /// packets have nowhere to go), as when a route disappears.
    /// </summary>
    public Task PartitionAsync(IEnumerable<TestnetHost> farSide, CancellationToken cancellationToken) =>
        MoveAsync(farSide, 1, cancellationToken);

    /// <summary>Puts every host back on the main bridge.</summary>
    public Task HealAsync(CancellationToken cancellationToken) => MoveAsync(_hosts.Where(h => h.Side != 0).ToList(), 0, cancellationToken);

    private async Task MoveAsync(IEnumerable<TestnetHost> hosts, int side, CancellationToken cancellationToken)
    {
        var list = hosts.ToList();
        if (list.Count == 0) return;
        await Shell.IpBatchAsync(list.Select(h => $"link set {h.BridgePort} master {(side == 0 ? MainBridge : OtherBridge)}"), cancellationToken: cancellationToken);
        foreach (var h in list) h.Side = side;
    }

    /// <summary>
    /// Where a host's neighbour table is not what <see cref="AddHostAsync"/> wrote: a host with no permanent entry for
    /// another, or with a learned one (an entry the machine-wide ARP table would have to hold). Empty when every host
    /// reaches every other by its static entries alone.
    /// </summary>
    public async Task<List<string>> NeighbourProblemsAsync(CancellationToken cancellationToken)
    {
        List<TestnetHost> hosts;
        lock (_hosts) hosts = [.. _hosts];
        var problems = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(hosts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (h, ct) =>
        {
            var lines = (await Shell.InAsync(h.Namespace, "ip", "-4", "neigh", "show", "dev", "eth0")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var permanent = lines.Where(l => l.EndsWith("PERMANENT", StringComparison.Ordinal)).Select(l => l.Split(' ')[0]).ToHashSet();
            var absent = hosts.Where(o => o != h && !permanent.Contains(o.Address.ToString())).Select(o => o.Address.ToString()).ToList();
            var learned = lines.Where(l => !l.EndsWith("PERMANENT", StringComparison.Ordinal)).ToList();
            if (absent.Count > 0) problems.Add($"{h.Name} has no entry for {string.Join(", ", absent)}");
            if (learned.Count > 0) problems.Add($"{h.Name} learned {string.Join(" | ", learned)}");
        });
        return [.. problems.Order(StringComparer.Ordinal)];
    }

    /// <summary>What the relays carried, and the frames dropped: at full downlink queues, and toward the bridge (partitions).</summary>
    public string RelayTotals()
    {
        lock (_hosts)
        {
            long frames = _hosts.Sum(h => h.Relay?.Frames ?? 0), bytes = _hosts.Sum(h => h.Relay?.Bytes ?? 0);
            var full = _hosts.Where(h => h.Relay?.DroppedToNode > 0).Select(h => $"{h.Name} {h.Relay!.DroppedToNode:N0}");
            return $"{frames:N0} frames, {bytes / (1024.0 * 1024):F0} MiB; dropped at full downlink queues: {string.Join(", ", full.DefaultIfEmpty("none"))}; " +
                $"toward the bridge: {_hosts.Sum(h => h.Relay?.DroppedToBridge ?? 0):N0}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<TestnetHost> hosts;
        lock (_hosts) hosts = [.. _hosts];
        foreach (var h in hosts)
        {
            h.Relay?.Dispose();
            // The veth pairs go with the namespace; the bridges with the outer namespace.
            h.Namespace.Dispose();
        }
    }
}
