using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht.Simulation;

/// <summary>
/// Thousands of <see cref="DhtNode"/>s in one process, connected by an in-memory <see cref="IMeshTransport"/>
/// with controllable latency, loss and churn. The routing, lookup and record code is the production code; only
/// the wire is replaced. Addresses are taken from 127.0.0.0/8 and never touch a socket.
/// </summary>
internal sealed class SimulatedNetwork
{
    private readonly ConcurrentDictionary<IPEndPoint, DhtNode> _nodes = new();
    private readonly ConcurrentDictionary<IPEndPoint, byte> _dead = new();
    private readonly SimulatedNetworkOptions _options;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private int _nextAddress;
    private long _messages;

    public SimulatedNetwork(SimulatedNetworkOptions? options = null)
    {
        _options = options ?? new SimulatedNetworkOptions();
        _random = new Random(_options.Seed);
    }

    /// <summary>Rewrites responses in flight (tests use it to make peers lie); null = honest wire.</summary>
    public Func<PeerContact, Response, Response>? TamperResponse { get; set; }

    /// <summary>Requests delivered so far.</summary>
    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>All nodes ever added, dead or alive.</summary>
    public ICollection<DhtNode> Nodes => _nodes.Values;

    /// <summary>Creates a node with id <paramref name="id"/> at the next free simulated address.</summary>
    public DhtNode AddNode(NodeId id, DhtOptions options, IRecordValidator? validator = null, TimeProvider? time = null)
    {
        int n = Interlocked.Increment(ref _nextAddress);
        var endPoint = new IPEndPoint(new IPAddress([127, (byte)(n >> 16), (byte)(n >> 8), (byte)n]), 4001);
        var self = new PeerContact(id, endPoint);
        var node = new DhtNode(self, new Transport(this, self), options, validator, time);
        _nodes[endPoint] = node;
        return node;
    }

    /// <summary>
    /// Adds <paramref name="count"/> nodes with ids from <paramref name="random"/> and joins each one the way a real
    /// node joins: bootstrap from one node already in the mesh (the first node when <paramref name="viaSeed"/>, else a
    /// random one), a lookup of its own id, and optionally a refresh of its buckets.
    /// </summary>
    public async Task<List<DhtNode>> AddAndJoinAsync(int count, DhtOptions options, Random random, bool refreshBuckets,
        bool viaSeed = false, CancellationToken cancellationToken = default)
    {
        var joined = _nodes.Values.Where(IsAlive).ToList();
        var added = new List<DhtNode>(count);
        for (int i = 0; i < count; i++)
        {
            var node = AddNode(NodeId.Random(random), options);
            if (joined.Count > 0)
            {
                var via = viaSeed ? joined[0] : joined[random.Next(joined.Count)];
                await node.BootstrapAsync([new BootstrapPeer(via.Self.EndPoint, via.Self.Id)], refreshBuckets, cancellationToken).ConfigureAwait(false);
            }
            joined.Add(node);
            added.Add(node);
        }
        return added;
    }

    /// <summary>Kills a node without warning: it stops answering.</summary>
    public void Kill(DhtNode node) => _dead[node.Self.EndPoint] = 0;

    public bool IsAlive(DhtNode node) => !_dead.ContainsKey(node.Self.EndPoint);

    private async ValueTask<Response> DeliverAsync(PeerContact from, PeerContact to, Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _messages);
        if (_dead.ContainsKey(from.EndPoint))
            throw new ProtocolException("The simulated caller is dead.");
        if (_options.LossRate > 0 && NextDouble() < _options.LossRate)
            throw new TimeoutException($"Simulated loss: {to} did not answer.");
        if (!_nodes.TryGetValue(to.EndPoint, out var target) || _dead.ContainsKey(to.EndPoint))
            throw new TimeoutException($"Simulated peer {to} is down.");
        if (target.Self.Id != to.Id)
            throw new ProtocolException($"The peer at {to.EndPoint} is {target.Self.Id}, not the expected node id {to.Id}.");
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Serialize) request = Request.Parser.ParseFrom(request.ToByteArray());
        var caller = new RpcCallContext(from.Id, from.EndPoint.Address, from.EndPoint.Port);
        var response = await target.HandleAsync(request, caller, cancellationToken).ConfigureAwait(false);
        await DelayAsync(cancellationToken).ConfigureAwait(false);
        if (TamperResponse is { } tamper) response = tamper(to, response);
        if (_options.Serialize) response = Response.Parser.ParseFrom(response.ToByteArray());
        if (response.Status is { Code: not StatusCode.Ok } status) throw RpcStatus.ToException(status, to.ToString());
        return response;
    }

    private ValueTask DelayAsync(CancellationToken cancellationToken)
    {
        if (_options.Latency <= TimeSpan.Zero && _options.Jitter <= TimeSpan.Zero) return ValueTask.CompletedTask;
        var delay = _options.Latency + _options.Jitter * NextDouble();
        return new ValueTask(Task.Delay(delay, cancellationToken));
    }

    private double NextDouble()
    {
        lock (_randomLock) return _random.NextDouble();
    }

    private sealed class Transport(SimulatedNetwork network, PeerContact self) : IMeshTransport
    {
        public ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken) =>
            network.DeliverAsync(self, peer, request, timeout, cancellationToken);

        public ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (!network._nodes.TryGetValue(endPoint, out var node) || network._dead.ContainsKey(endPoint))
                throw new TimeoutException($"Simulated peer at {endPoint} is down.");
            if (expectedId is { } want && node.Self.Id != want)
                throw new ProtocolException($"The peer at {endPoint} is {node.Self.Id}, not the expected node id {want}.");
            return ValueTask.FromResult(node.Self.Id);
        }
    }
}
