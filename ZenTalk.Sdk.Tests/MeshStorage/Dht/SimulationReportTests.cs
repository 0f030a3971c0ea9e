using ZenTalk.MeshStorage.Dht.Simulation;

namespace ZenTalk.Sdk.Tests.MeshStorage.Dht;

public class SimulationReportTests
{
    [Test]
    public async Task A_small_simulation_report_meets_the_targets()
    {
        var result = await SimulationReport.RunAsync(nodeCount: 300, lookups: 100, seed: 9);
        TestContext.Out.WriteLine(result);
        Assert.That(result.FoundPercent, Is.EqualTo(100));
        Assert.That(result.ChurnFoundPercent, Is.GreaterThanOrEqualTo(99));
        Assert.That(result.MedianHops, Is.LessThanOrEqualTo(4));
    }

    /// <summary>The 10,000-node run of docs/dht.md (minutes on 2 cores): `dotnet test ... --filter Name~Ten_thousand`
    /// with ZENTALK_SIM_NODES to change the size.</summary>
    [Test, Explicit("Long: the docs/dht.md experiment")]
    public async Task Ten_thousand_node_simulation_report()
    {
        int nodes = int.TryParse(Environment.GetEnvironmentVariable("ZENTALK_SIM_NODES"), out int n) ? n : 10_000;
        var result = await SimulationReport.RunAsync(nodes, lookups: 1000, seed: 1, progress: s => TestContext.Progress.WriteLine(s));
        TestContext.Out.WriteLine(result);
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "zentalk-dht-sim.txt"), result.ToString());
        Assert.That(result.FoundPercent, Is.EqualTo(100));
    }
}
