using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Dht.Simulation;

namespace ZenTalk.Benchmarks.Dht;

/// <summary>
/// CPU cost of one iterative lookup in a simulated network (the real routing and lookup code over the in-memory
/// transport, no latency). The correctness figures of the 10,000-node experiment come from
/// SimulationReport (docs/dht.md); this measures what a lookup costs in time and allocations.
/// </summary>
[MemoryDiagnoser]
public class DhtSimulatedLookup
{
    private List<DhtNode> _nodes = null!;
    private Random _random = null!;

    /// <summary>Nodes in the simulated network.</summary>
    [Params(1000)]
    public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var network = new SimulatedNetwork(new SimulatedNetworkOptions { Serialize = true });
        _random = new Random(1);
        _nodes = network.AddAndJoinAsync(Nodes, new DhtOptions { AllowLoopbackClusters = true }, _random, refreshBuckets: true)
            .GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task<int> Lookup()
    {
        var result = await _nodes[_random.Next(_nodes.Count)].FindNodeAsync(NodeId.Random(_random));
        return result.Closest.Count;
    }
}
