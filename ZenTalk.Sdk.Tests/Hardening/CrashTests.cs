using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// SIGKILL at random points of a child process's writes, then reopen and check the invariants (bounded: 20-25 kills per
/// scenario here; the hardening tool runs more). Unix only: Process.Kill is SIGKILL there.
/// </summary>
public class CrashTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("SIGKILL is a Unix signal.");
        _dir = Path.Combine(Path.GetTempPath(), "zt-crash-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        Assert.That(File.Exists(CrashChild.DefaultPath), Is.True, CrashChild.DefaultPath);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_dir is not null && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static void AssertNoViolations(CrashReport report, int iterations)
    {
        TestContext.Out.WriteLine(report.ToString());
        Assert.That(report.Violations, Is.Empty, string.Join("\n", report.Violations));
        Assert.That(report.Iterations, Is.EqualTo(iterations));
    }

    [Test]
    public async Task Shard_puts_killed_20_times_at_random_points_leave_every_acknowledged_shard_and_nothing_torn()
    {
        var report = await CrashScenarios.ShardsAsync(CrashChild.DefaultPath, _dir, iterations: 20, seed: 9001);
        AssertNoViolations(report, 20);
        Assert.That(report.AcknowledgedChecked, Is.GreaterThan(0), "no put completed before any kill: the test checked nothing");
    }

    [Test]
    public async Task Message_batches_killed_25_times_keep_every_acknowledged_batch_whole_and_the_database_intact()
    {
        var report = await CrashScenarios.MessagesAsync(CrashChild.DefaultPath, Path.Combine(_dir, "messages.db"), iterations: 25, seed: 9002);
        AssertNoViolations(report, 25);
        Assert.That(report.AcknowledgedChecked, Is.GreaterThan(0), "no batch was acknowledged before any kill: the test checked nothing");
    }

    [Test]
    public async Task A_restore_killed_20_times_leaves_either_the_old_database_or_a_complete_new_one()
    {
        var report = await CrashScenarios.RestoreAsync(CrashChild.DefaultPath, _dir, iterations: 20, seed: 9003);
        AssertNoViolations(report, 20);
        // Each restore removes what killed restores left; at most the last kill's temporary file remains.
        Assert.That(report.LeftoverTemporaries, Is.LessThanOrEqualTo(1));
    }

    // Found by the restore crash scenario: every killed restore left a database-sized temporary file that nothing removed.
    [Test]
    public async Task A_restore_removes_temporary_files_left_by_an_earlier_killed_restore()
    {
        var target = Path.Combine(_dir, "target.db");
        var stale = Path.Combine(_dir, ".target.db.restore-" + Guid.NewGuid().ToString("N"));
        var other = Path.Combine(_dir, ".other.db.restore-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(stale, new byte[4096]);
        await File.WriteAllBytesAsync(other, new byte[16]);
        using var backup = new MemoryStream();
        await using (var store = await ZenTalk.Storage.SqliteMessageStore.OpenAsync(Path.Combine(_dir, "source.db")))
            await store.BackupAsync(backup);
        backup.Position = 0;
        await ZenTalk.Storage.SqliteMessageStore.RestoreAsync(backup, target);
        Assert.That(File.Exists(stale), Is.False, "the killed restore's leftover is removed");
        Assert.That(File.Exists(other), Is.True, "another target's files are not touched");
        Assert.That(File.Exists(target), Is.True);
    }
}
