using System.Diagnostics;
using System.Globalization;
using System.Text;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Dht.Simulation;

/// <summary>
/// The DHT simulation experiment of docs/dht.md: build an N-node network by real joins, run random lookups and
/// check each against the true closest node, kill a fraction of the nodes without warning, and look up again.
/// </summary>
internal static class SimulationReport
{
    public sealed record Result(
        int Nodes, int Lookups, double FoundPercent, double MedianHops, double P99Hops, double MedianRounds, double P99Rounds,
        double MedianQueried, double ChurnFoundPercent, double ChurnMedianRounds, double BytesPerNode, double MeanTableSize,
        TimeSpan BuildTime, TimeSpan LookupTime)
    {
        public override string ToString()
        {
            var s = new StringBuilder();
            s.AppendLine(CultureInfo.InvariantCulture, $"nodes {Nodes}, lookups {Lookups}, build {BuildTime.TotalSeconds:0.0} s, lookups {LookupTime.TotalSeconds:0.0} s");
            s.AppendLine(CultureInfo.InvariantCulture, $"found true closest: {FoundPercent:0.00}%");
            s.AppendLine(CultureInfo.InvariantCulture, $"hops to closest: median {MedianHops}, p99 {P99Hops}; rounds (longest request chain): median {MedianRounds}, p99 {P99Rounds}; requests per lookup: median {MedianQueried}");
            s.AppendLine(CultureInfo.InvariantCulture, $"after 25% churn: found closest live node {ChurnFoundPercent:0.00}%, rounds median {ChurnMedianRounds}");
            s.Append(CultureInfo.InvariantCulture, $"memory per node: {BytesPerNode / 1024:0.0} KiB (routing table mean {MeanTableSize:0.0} peers)");
            return s.ToString();
        }
    }

    public static async Task<Result> RunAsync(int nodeCount, int lookups, int seed, Action<string>? progress = null)
    {
        var options = new DhtOptions { AllowLoopbackClusters = true, RequestTimeout = TimeSpan.FromSeconds(2) };
        var network = new SimulatedNetwork(new SimulatedNetworkOptions { Seed = seed, Serialize = false });
        var random = new Random(seed);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var build = Stopwatch.StartNew();
        var nodes = new List<DhtNode>(nodeCount);
        for (int done = 0; done < nodeCount; done += 1000)
        {
            nodes.AddRange(await network.AddAndJoinAsync(Math.Min(1000, nodeCount - done), options, random, refreshBuckets: true).ConfigureAwait(false));
            progress?.Invoke($"joined {nodes.Count}");
        }
        build.Stop();
        long after = GC.GetTotalMemory(forceFullCollection: true);

        var ids = nodes.Select(n => n.Self.Id).ToArray();
        var timer = Stopwatch.StartNew();
        var (found, hops, rounds, queried) = await LookupsAsync(nodes, ids, lookups, random).ConfigureAwait(false);
        timer.Stop();

        foreach (var victim in nodes.OrderBy(_ => random.Next()).Take(nodeCount / 4)) network.Kill(victim);
        var alive = nodes.Where(network.IsAlive).ToList();
        var (churnFound, _, churnRounds, _) = await LookupsAsync(alive, alive.Select(n => n.Self.Id).ToArray(), lookups, random).ConfigureAwait(false);

        return new Result(nodeCount, lookups, 100.0 * found / lookups, Percentile(hops, 0.5), Percentile(hops, 0.99),
            Percentile(rounds, 0.5), Percentile(rounds, 0.99), Percentile(queried, 0.5), 100.0 * churnFound / lookups,
            Percentile(churnRounds, 0.5), (double)(after - before) / nodeCount, nodes.Average(n => n.Table.Count),
            build.Elapsed, timer.Elapsed);
    }

    private static async Task<(int Found, List<int> Hops, List<int> Rounds, List<int> Queried)> LookupsAsync(
        List<DhtNode> from, NodeId[] candidates, int lookups, Random random)
    {
        int found = 0;
        List<int> hops = [], rounds = [], queried = [];
        for (int i = 0; i < lookups; i++)
        {
            var target = NodeId.Random(random);
            var origin = from[random.Next(from.Count)];
            var truth = candidates.Where(c => c != origin.Self.Id).MinBy(c => target.DistanceTo(c));
            var result = await origin.FindNodeAsync(target).ConfigureAwait(false);
            if (result.Closest.Count > 0 && result.Closest[0].Id == truth) found++;
            hops.Add(result.HopsToClosest);
            rounds.Add(result.Rounds);
            queried.Add(result.Queried);
        }
        return (found, hops, rounds, queried);
    }

    private static double Percentile(List<int> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}
