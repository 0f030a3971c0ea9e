using ZenTalk.Sdk.Tests.Hardening.Faults;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>The short mesh soak with churn (16 nodes, 10 s of load); the hardening tool's "churn" command runs it for minutes.</summary>
[TestFixture]
[CancelAfter(180_000)]
public class MeshChurnTests
{
    [Test]
    public async Task Continuous_store_and_retrieve_while_nodes_stop_and_restart_loses_no_file(CancellationToken cancellationToken)
    {
        var report = await MeshChurnSoak.RunAsync(new MeshChurnOptions { Nodes = 16, Duration = TimeSpan.FromSeconds(10) }, TestContext.Out.WriteLine, cancellationToken);
        TestContext.Out.WriteLine(report.ToString());
        Assert.That(report.Stops, Is.GreaterThan(0));
        Assert.That(report.Restarts, Is.GreaterThan(0));
        Assert.That(report.Lost, Is.Empty);
        Assert.That(report.Mismatches, Is.Zero, "a retrieve never returns wrong bytes");
        Assert.That(report.StoresOk, Is.GreaterThan(0));
        Assert.That(report.RetrievesOk, Is.GreaterThan(0));
    }
}
