using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// A read keeps at most its window of shard requests out at once, over all the segments it decodes ahead, and still
/// returns the file byte for byte; the default read, deeper than its window, does too.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshReadWindowTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(15, MeshTestData.FastOptions(Manifest.MinSegmentSize));
        _owner = OwnerKey.Generate(2048);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(25)]
    public async Task A_read_never_has_more_shard_requests_out_than_its_window(int windowShards, CancellationToken cancellationToken)
    {
        // 6 segments decoded 4 at a time: without a window up to 40 first tries would be out at once.
        var data = MeshTestData.Bytes((6 * Manifest.MinSegmentSize) - 1_000, 300 + windowShards);
        var stored = await _mesh.Nodes[2].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var reader = _mesh.Nodes[9].MeshStore;
        var manifest = await reader.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(6));

        var source = new MeshShardSource(manifest, reader.Client, reader.Placement, windowBytes: (long)windowShards * manifest.ShardSize(0));
        var back = await ReadThroughAsync(manifest, stored.ContentKey, source, segmentsAhead: 4, cancellationToken);

        Assert.That(back, Is.EqualTo(data));
        Assert.That(source.WindowShards, Is.EqualTo(windowShards));
        Assert.That(source.MostInWindow, Is.InRange(1, windowShards), "shard requests out at once");
    }

    [Test]
    public async Task A_window_smaller_than_one_shard_still_lets_one_request_out(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(2 * Manifest.MinSegmentSize, 31);
        var stored = await _mesh.Nodes[3].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var reader = _mesh.Nodes[0].MeshStore;
        var manifest = await reader.FindManifestAsync(stored.Cid, cancellationToken);
        foreach (long bytes in new long[] { 0, 1 })
        {
            var source = new MeshShardSource(manifest, reader.Client, reader.Placement, windowBytes: bytes);
            Assert.That(source.WindowShards, Is.EqualTo(1));
            Assert.That(await ReadThroughAsync(manifest, stored.ContentKey, source, segmentsAhead: 2, cancellationToken), Is.EqualTo(data));
            Assert.That(source.MostInWindow, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task The_default_read_decodes_further_ahead_than_its_window_and_returns_the_file(CancellationToken cancellationToken)
    {
        var defaults = new DistributedOptions();
        Assert.That(defaults.ReadSegmentsAhead * (long)Manifest.ShardSizeFor(defaults.SegmentSize, defaults.DataShards) * defaults.DataShards,
            Is.GreaterThan(defaults.ReadBytesInFlight), "by default the window, not the depth, bounds what a read asks for at once");
        var data = MeshTestData.Bytes(20 * Manifest.MinSegmentSize, 77);
        var stored = await _mesh.Nodes[5].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[12].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    private static Task<byte[]> ReadThroughAsync(Manifest manifest, ContentKey key, MeshShardSource source, int segmentsAhead, CancellationToken cancellationToken)
    {
        var decoder = new FileDecoder(manifest, key, source, new FileCodecOptions
        {
            SegmentSize = manifest.SegmentSize, DataShards = manifest.DataShards, ParityShards = manifest.ParityShards, MaxSegmentsInFlight = segmentsAhead,
        });
        return MeshTestData.ReadAllAsync(decoder.OpenRead(), cancellationToken);
    }
}
