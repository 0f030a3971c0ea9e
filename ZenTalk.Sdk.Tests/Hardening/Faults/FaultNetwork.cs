using System.Collections.Concurrent;
using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>How a partition treats the links it cuts.</summary>
internal enum PartitionMode
{
    /// <summary>Open connections are reset and new ones refused at once (a host that answers with RST).</summary>
    Reset,

    /// <summary>Every byte is silently dropped, both ways, on open and new connections: callers only see timeouts
    /// (a black hole, as when a route disappears). Connections that dropped bytes are reset when the partition heals.</summary>
    Drop,
}

/// <summary>
/// The fault model of a loopback mesh: which node is slow, which sets are partitioned, and how often a connection
/// is cut in the middle of a TLS record or has two records swapped. Hooked into every node through
/// <see cref="LocalMeshOptions.OutboundTransportFor"/>: each outbound TCP stream of node i to node j is wrapped, below
/// TLS, in a <see cref="FaultyStream"/> that consults this object on every read and write, so a change here takes
/// effect on open connections at once. Nodes are known by index (clients are negative and always in the main group);
/// remote nodes are recognised by their listening port (all nodes share 127.0.0.1), learned with <see cref="Learn"/>.
/// </summary>
internal sealed class FaultNetwork
{
    private readonly ConcurrentDictionary<int, int> _indexByPort = new();
    private readonly ConcurrentDictionary<int, TimeSpan> _slow = new();
    private readonly ConcurrentDictionary<FaultyStream, byte> _open = new();
    private readonly ConcurrentDictionary<(int, int), int> _armed = new();
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private volatile int[] _group = [];
    private long _connections, _refused, _cuts, _reorders, _delayed, _dropped;

    public FaultNetwork(int seed) => _random = new Random(seed);

    /// <summary>The hook for <see cref="LocalMeshOptions.OutboundTransportFor"/>.</summary>
    public Func<Stream, IPEndPoint, Stream>? HookFor(int from) => (stream, remote) => Wrap(from, stream, remote);

    /// <summary>Chance per read or write that the connection is cut strictly inside a TLS record.</summary>
    public double CutProbability { get; set; }

    /// <summary>Chance per written TLS record that it is held back and sent after the next one.</summary>
    public double ReorderProbability { get; set; }

    /// <summary>Partition mode of the current partition.</summary>
    public PartitionMode Mode { get; private set; }

    public long Connections => Interlocked.Read(ref _connections);
    public long Refused => Interlocked.Read(ref _refused);
    public long Cuts => Interlocked.Read(ref _cuts);
    public long Reorders => Interlocked.Read(ref _reorders);
    public long DelayedChunks => Interlocked.Read(ref _delayed);
    public long DroppedChunks => Interlocked.Read(ref _dropped);

    /// <summary>Learns every node's listening port (call after the mesh started and after each restart).</summary>
    public void Learn(LocalMesh mesh)
    {
        for (int i = 0; i < mesh.Nodes.Count; i++) Learn(i, mesh.Nodes[i]);
    }

    /// <summary>Learns node <paramref name="index"/>'s listening port.</summary>
    public void Learn(int index, MeshNode node)
    {
        var port = int.Parse(node.Endpoint[(node.Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var stale in _indexByPort.Where(p => p.Value == index && p.Key != port).ToList()) _indexByPort.TryRemove(stale);
        _indexByPort[port] = index;
    }

    /// <summary>Every chunk read or written on a connection from or to <paramref name="node"/> waits <paramref name="delay"/> first.</summary>
    public void SetSlow(int node, TimeSpan delay) => _slow[node] = delay;

    /// <summary>Ends every slow node.</summary>
    public void ClearSlow() => _slow.Clear();

    /// <summary>
    /// Cuts <paramref name="isolated"/> off from every other node and client (they still reach each other). Open
    /// connections across the cut are reset or black-holed at once, depending on <paramref name="mode"/>.
    /// </summary>
    public void Partition(IReadOnlyCollection<int> isolated, PartitionMode mode)
    {
        int size = Math.Max(_indexByPort.Values.DefaultIfEmpty(0).Max() + 1, isolated.DefaultIfEmpty(0).Max() + 1);
        var group = new int[size];
        foreach (int i in isolated) group[i] = 1;
        Mode = mode;
        _group = group;
        if (mode == PartitionMode.Reset)
        {
            foreach (var s in _open.Keys)
                if (Blocked(s.From, s.To)) s.Abort();
        }
    }

    /// <summary>Ends the partition; connections that had bytes dropped are reset (their TLS state is gone).</summary>
    public void Heal()
    {
        _group = [];
        foreach (var s in _open.Keys)
            if (s.DroppedBytes) s.Abort();
    }

    /// <summary>Ends every fault: no partition, no slow node, no cuts or reorders.</summary>
    public void ClearAll()
    {
        Heal();
        ClearSlow();
        CutProbability = 0;
        ReorderProbability = 0;
    }

    /// <summary>
    /// Cuts the next chunk of at least <paramref name="minChunk"/> bytes that node <paramref name="from"/> reads from node
    /// <paramref name="to"/>, inside its TLS record, once (a targeted fault for regression tests).
    /// </summary>
    public void ArmCut(int from, int to, int minChunk) => _armed[(from, to)] = minChunk;

    internal bool TakeArmedCut(int from, int to, int chunk) =>
        _armed.TryGetValue((from, to), out int min) && chunk >= min && _armed.TryRemove((from, to), out _);

    internal bool Blocked(int from, int to)
    {
        var g = _group;
        if (g.Length == 0 || to == int.MinValue) return false;
        int GroupOf(int i) => i >= 0 && i < g.Length ? g[i] : 0;
        return GroupOf(from) != GroupOf(to);
    }

    internal TimeSpan DelayFor(int from, int to)
    {
        var a = _slow.TryGetValue(from, out var x) ? x : TimeSpan.Zero;
        var b = to != int.MinValue && _slow.TryGetValue(to, out var y) ? y : TimeSpan.Zero;
        var d = a > b ? a : b;
        if (d > TimeSpan.Zero) Interlocked.Increment(ref _delayed);
        return d;
    }

    internal bool Chance(double p)
    {
        if (p <= 0) return false;
        lock (_randomLock) return _random.NextDouble() < p;
    }

    internal void CountCut() => Interlocked.Increment(ref _cuts);
    internal void CountReorder() => Interlocked.Increment(ref _reorders);
    internal void CountDropped() => Interlocked.Increment(ref _dropped);
    internal void Closed(FaultyStream s) => _open.TryRemove(s, out _);

    /// <summary>The index of the node listening on <paramref name="port"/>, or int.MinValue when unknown.</summary>
    internal int IndexOf(int port) => _indexByPort.TryGetValue(port, out var i) ? i : int.MinValue;

    private Stream Wrap(int from, Stream stream, IPEndPoint remote)
    {
        int to = IndexOf(remote.Port);
        if (Blocked(from, to) && Mode == PartitionMode.Reset)
        {
            Interlocked.Increment(ref _refused);
            throw new IOException($"fault injection: node {from} is partitioned from node {to}");
        }
        Interlocked.Increment(ref _connections);
        var faulty = new FaultyStream(this, stream, from, remote.Port);
        _open[faulty] = 0;
        return faulty;
    }
}
