using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

public class FileRecordLogTests
{
    private const int BodySize = 64 * 1024;
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-log-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every intact entry of the log in <paramref name="directory"/>, in order.</summary>
    internal static List<FileRecordLog.Entry> ReadEntries(string directory)
    {
        var entries = new List<FileRecordLog.Entry>();
        var log = FileRecordLog.Open(directory, NullLogger.Instance, () => 0, () => [], (kind, body) => entries.Add(new(kind, body.ToArray())));
        log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return entries;
    }

    private static FileRecordLog.Entry Body(byte fill) => new(FileRecordLog.Kind.Manifest, Enumerable.Repeat(fill, BodySize).ToArray());

    private static long SizeOf(IEnumerable<FileRecordLog.Entry> entries) =>
        FileRecordLog.HeaderSize + entries.Sum(e => (long)FileRecordLog.EntryOverhead + e.Body.Length);

    [Test]
    public async Task A_rewrite_after_an_append_holds_exactly_the_live_entries()
    {
        // 20 entries of 64 KiB (1.25 MiB): while all are live nothing is rewritten.
        var written = Enumerable.Range(0, 20).Select(i => Body((byte)i)).ToList();
        int liveCount = written.Count;
        var liveEntries = written;
        var log = FileRecordLog.Open(_dir, NullLogger.Instance, () => liveCount, () => liveEntries, (_, _) => { });
        log.Start();
        await Task.WhenAll(written.Select(e => log.Append(e.Kind, e.Body)));
        Assert.That(new FileInfo(Path.Combine(_dir, FileRecordLog.FileName)).Length, Is.EqualTo(SizeOf(written)));

        // Two stay live; the next append finds 21 entries for 2 live ones and rewrites the log.
        liveEntries = [written[3], written[17]];
        liveCount = liveEntries.Count;
        await log.Append(FileRecordLog.Kind.Forget, new byte[32]);
        await log.DisposeAsync();

        Assert.That(new FileInfo(Path.Combine(_dir, FileRecordLog.FileName)).Length, Is.EqualTo(SizeOf(liveEntries)));
        Assert.That(ReadEntries(_dir).Select(e => e.Body), Is.EqualTo(liveEntries.Select(e => e.Body)));
    }

    [Test]
    public async Task Opening_a_log_with_mostly_dead_entries_rewrites_it_and_appends_after_the_rewrite()
    {
        var written = Enumerable.Range(0, 20).Select(i => Body((byte)i)).ToList();
        var first = FileRecordLog.Open(_dir, NullLogger.Instance, () => int.MaxValue, () => written, (_, _) => { });
        first.Start();
        await Task.WhenAll(written.Select(e => first.Append(e.Kind, e.Body)));
        await first.DisposeAsync();

        List<FileRecordLog.Entry> live = [written[5]];
        var second = FileRecordLog.Open(_dir, NullLogger.Instance, () => live.Count, () => live, (_, _) => { });
        second.Start();
        var added = Body(0xEE);
        await second.Append(added.Kind, added.Body);
        await second.DisposeAsync();

        Assert.That(ReadEntries(_dir).Select(e => e.Body), Is.EqualTo(new[] { written[5].Body, added.Body }));
        Assert.That(File.Exists(Path.Combine(_dir, FileRecordLog.FileName + ".tmp")), Is.False);
    }

    [Test]
    public void A_log_from_a_newer_version_is_refused()
    {
        File.WriteAllBytes(Path.Combine(_dir, FileRecordLog.FileName), [.. "ZTFR"u8, 2, 0, 0, 0]);
        Assert.That(() => FileRecordLog.Open(_dir, NullLogger.Instance, () => 0, () => [], (_, _) => { }),
            Throws.InstanceOf<ZenTalk.MeshStorage.MeshStorageException>().With.Message.Contains("newer"));
    }
}
