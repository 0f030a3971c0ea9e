using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Issue 16's run from outside the process (<see cref="OutsideFlood"/>): twelve storage node processes on loopback, a
/// hostile program with its own TLS identity flooding one of them with junk records and unauthorized shards for 30 s,
/// and an honest user storing and reading through that node meanwhile. docs/reliability.md, "A mesh of node processes
/// under a hostile program".
/// </summary>
public class OutsideFloodTests
{
    private static string NodeHost => Path.Combine(AppContext.BaseDirectory, "ZenTalk.Testnet.dll");

    [Test]
    [CancelAfter(300_000)]
    public async Task A_node_of_a_twelve_process_mesh_flooded_for_30_s_stays_within_its_memory_keeps_no_unauthorized_shard_and_serves_an_honest_user(
        CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads the victim's RSS from /proc");
        var dir = Path.Combine(Path.GetTempPath(), "zt-outside-" + Guid.NewGuid().ToString("N"));
        try
        {
            var report = await OutsideFlood.RunAsync(new OutsideFloodOptions { NodeHost = NodeHost, Directory = dir },
                line => TestContext.Out.WriteLine(line), cancellationToken);
            TestContext.Out.WriteLine(report);

            Assert.That(report.ShardsSent, Is.GreaterThanOrEqualTo(20), "the flood reached the victim with shards");
            Assert.That(report.RecordsSent, Is.GreaterThanOrEqualTo(1000), "the flood reached the victim with records");
            Assert.That(report.RssGrowth, Is.LessThanOrEqualTo(256L << 20), "the victim's RSS grows by at most 256 MiB");
            Assert.That(report.ShardBytesAccepted, Is.LessThanOrEqualTo(16L << 20), "the victim keeps at most 16 MiB of shards no owner authorized");
            Assert.That(report.HonestFailures, Is.Zero);
            Assert.That(report.HonestMismatches, Is.Zero);
            Assert.That(report.Honest, Has.Count.EqualTo(4), "two files stored and read back through the victim, and read again after the flood");
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // A node process still closing a file: the temp folder is cleaned later.
            }
        }
    }
}
