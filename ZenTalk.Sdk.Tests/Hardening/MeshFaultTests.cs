using ZenTalk.Sdk.Tests.Hardening.Faults;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// The fault schedule on a 20-node loopback mesh, short version (phases of 2 s); the hardening tool's "faults"
/// command runs it longer.
/// </summary>
[TestFixture]
[CancelAfter(240_000)]
public class MeshFaultTests
{
    [Test]
    public async Task No_file_is_lost_under_the_fault_schedule_and_repair_restores_every_segment(CancellationToken cancellationToken)
    {
        var report = await FaultScenario.RunAsync(new FaultScenarioOptions { PhaseDuration = TimeSpan.FromSeconds(2), InitialFiles = 10 }, TestContext.Out.WriteLine, cancellationToken);
        TestContext.Out.WriteLine(report.ToString());
        Assert.That(report.MaxDown, Is.LessThanOrEqualTo(5));
        Assert.That(report.Lost, Is.Empty);
        Assert.That(report.FilesIntact, Is.EqualTo(report.FilesStored));
        Assert.That(report.Mismatches, Is.Zero, "a retrieve never returns wrong bytes");
        Assert.That(report.RetrievesOk, Is.GreaterThan(0));
        Assert.That(report.RepairAfterFaults, Is.Not.Null, "repair brings every segment back to 15 of 15");
        Assert.That(report.RepairAfterKillingFive, Is.Not.Null, "repair brings every segment back to 15 of 15 after 5 nodes die");
    }
}
