using System.Reflection;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Issue 16's run from outside the process (<see cref="OutsideFlood"/>): twelve <c>zentalk-node</c> processes on
/// loopback, a hostile program of its own (tests/ZenTalk.HostilePeer, its own TLS identity) flooding one of them with
/// junk records and unauthorized shards for 30 s, and an honest user uploading and downloading through that node's REST
/// API meanwhile. docs/reliability.md, "A mesh of node processes under a hostile program".
/// </summary>
public class OutsideFloodTests
{
    private static string Built(string key) => typeof(OutsideFloodTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    [Test]
    [CancelAfter(300_000)]
    public async Task A_node_of_a_twelve_process_mesh_flooded_for_30_s_stays_within_its_memory_keeps_no_unauthorized_shard_and_serves_an_honest_user(
        CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("reads the victim's RSS from /proc");
        var options = new OutsideFloodOptions
        {
            NodeTool = Built("StorageNodePath"),
            HostilePeer = Built("HostilePeerPath"),
            Directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "zt-outside-" + Guid.NewGuid().ToString("N"))).FullName,
        };
        Assert.That(File.Exists(options.NodeTool), Is.True, options.NodeTool);
        Assert.That(File.Exists(options.HostilePeer), Is.True, options.HostilePeer);
        try
        {
            var report = await OutsideFlood.RunAsync(options, line => TestContext.Out.WriteLine(line), cancellationToken);
            TestContext.Out.WriteLine(report);

            Assert.That(report.Hostile.Shards, Is.GreaterThanOrEqualTo(20), "the flood reached the victim with shards");
            Assert.That(report.Hostile.Records, Is.GreaterThanOrEqualTo(1000), "the flood reached the victim with records");
            Assert.That(report.Hostile.PutsAnswered, Is.GreaterThanOrEqualTo(10), "the victim read the unauthorized puts and answered them");
            Assert.That(report.RssGrowth, Is.LessThanOrEqualTo(256L << 20), "the victim's RSS grows by at most 256 MiB");
            Assert.That(report.Hostile.ShardBytesKept, Is.LessThanOrEqualTo(16L << 20), "the victim keeps at most 16 MiB of shards no owner authorized");
            // What the victim says it stores: at most the honest files' shards (1.5 times their bytes, all of them) and the 16 MiB.
            Assert.That(report.StoredGrowth, Is.LessThanOrEqualTo((16L << 20) + (report.HonestBytes * 3 / 2)), "GET /network's stored bytes");
            Assert.That(report.HonestFailures, Is.Zero);
            Assert.That(report.HonestMismatches, Is.Zero);
            Assert.That(report.HonestReads, Is.EqualTo(6), "two files downloaded through the victim during the flood, through it and another node after");
        }
        finally
        {
            try
            {
                Directory.Delete(options.Directory, recursive: true);
            }
            catch (IOException)
            {
                // A node process still closing a file: the temp folder is cleaned later.
            }
        }
    }
}
