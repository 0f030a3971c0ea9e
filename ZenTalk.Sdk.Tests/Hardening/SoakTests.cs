using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>The short soak (about 10 s); the minutes-long run is the hardening tool's "soak" command.</summary>
public class SoakTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-soak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task Eight_writers_eight_readers_and_two_leasers_for_10_seconds_lose_nothing_and_see_no_errors()
    {
        var report = await MessageStoreSoak.RunAsync(Path.Combine(_dir, "soak.db"), TimeSpan.FromSeconds(10));
        TestContext.Out.WriteLine(report.ToString());
        Assert.That(report.FirstErrors, Is.Empty, string.Join("\n\n", report.FirstErrors));
        Assert.That(report.BusyLeaked, Is.Zero);
        Assert.That(report.LostMessages, Is.Zero);
        Assert.That(report.LostEnvelopes, Is.Zero);
        Assert.That(report.DoubleLeases, Is.Zero);
        Assert.That(report.RelayAcked, Is.EqualTo(report.RelayEnqueued), "every enqueued envelope was leased and acked exactly once");
        Assert.That(report.MessagesWritten, Is.GreaterThan(0));
        Assert.That(report.MessagesRead, Is.GreaterThan(0));
    }
}
