using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Deterministic fuzzing with fixed seeds (longer runs with other seeds: the hardening tool in
/// benchmarks/ZenTalk.Benchmarks, see docs/reliability.md). Each case may only end in the documented exception;
/// the report names every other outcome and its input.
/// </summary>
public class FuzzTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static void AssertClean(FuzzReport report, long minimumCases)
    {
        TestContext.Out.WriteLine(report.ToString());
        Assert.That(report.Crashes, Is.Empty, string.Join("\n\n", report.Crashes));
        Assert.That(report.Cases, Is.GreaterThanOrEqualTo(minimumCases));
    }

    [Test]
    public async Task The_frame_reader_survives_120k_random_and_mutated_frames_with_only_protocol_errors()
    {
        var report = await FrameFuzzer.RunAsync(seed: 8001, cases: 120_000);
        AssertClean(report, 120_000);
        // The mix must reach both outcomes, or the fuzzer is not testing the parser.
        Assert.That(report.Outcomes.GetValueOrDefault("parsed"), Is.GreaterThan(1000));
        Assert.That(report.Outcomes.GetValueOrDefault("ProtocolException"), Is.GreaterThan(1000));
    }

    [Test]
    public async Task The_request_handlers_survive_100k_mutated_requests_and_still_answer_honest_ones()
    {
        // About a third of byte-mutated requests no longer parse as a Request; 180k cases put over 100k through the handlers.
        var report = await RequestFuzzer.RunAsync(seed: 8002, cases: 180_000);
        AssertClean(report, 180_000);
        Assert.That(report.Cases - report.Outcomes.GetValueOrDefault("not a request"), Is.GreaterThanOrEqualTo(100_000));
        Assert.That(report.Outcomes.Keys.Count(k => k.StartsWith("status", StringComparison.Ordinal)), Is.GreaterThan(2));
    }

    [Test]
    public async Task The_shard_request_handlers_survive_150k_mutated_requests_store_nothing_they_should_not_and_still_answer_honest_ones()
    {
        var report = await ShardRequestFuzzer.RunAsync(_dir, seed: 8007, cases: 150_000);
        AssertClean(report, 150_000);
        Assert.That(report.Cases - report.Outcomes.GetValueOrDefault("not a request"), Is.GreaterThanOrEqualTo(100_000));
        // Every shard request kind must be served, and all but HAS_SHARDS (which answers "no" to a bad hash) also
        // refused, or the mix is not reaching the handlers' branches.
        Assert.That(report.Outcomes.GetValueOrDefault("HasShards Ok"), Is.GreaterThan(100));
        foreach (var kind in new[] { "PutShard", "GetShard", "DeleteShards" })
        {
            Assert.That(report.Outcomes.GetValueOrDefault(kind + " Ok"), Is.GreaterThan(100), kind + " served");
            Assert.That(report.Outcomes.Where(o => o.Key.StartsWith(kind + " ", StringComparison.Ordinal) && o.Key != kind + " Ok").Sum(o => o.Value),
                Is.GreaterThan(100), kind + " refused");
        }
    }

    [Test]
    public void Cid_parsing_survives_100k_mutated_texts_and_accepts_only_canonical_ones()
    {
        var report = ParserFuzzer.RunCid(seed: 8003, cases: 100_000);
        AssertClean(report, 100_000);
        Assert.That(report.Outcomes.GetValueOrDefault("accepted"), Is.GreaterThan(0));
    }

    [Test]
    public void Manifest_open_refuses_20k_mutated_manifests_with_integrity_errors_only()
    {
        var report = ParserFuzzer.RunManifest(seed: 8004, cases: 20_000);
        AssertClean(report, 20_000);
        Assert.That(report.Outcomes.GetValueOrDefault("IntegrityException"), Is.GreaterThan(19_000));
    }

    [Test]
    public async Task Restore_refuses_300_damaged_backup_streams_and_leaves_the_target_untouched()
    {
        var report = await BackupStreamFuzzer.RunAsync(_dir, seed: 8005, cases: 300);
        AssertClean(report, 300);
        Assert.That(report.Outcomes.GetValueOrDefault("BackupFormatException"), Is.GreaterThan(200));
    }
}
