using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Store and retrieve on one shared 15-node loopback mesh; these tests do not stop nodes.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshRoundTripTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(15, MeshTestData.FastOptions());
        _owner = OwnerKey.Create(2048);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(256 * 1024)]
    [TestCase(20_000_000)]
    public async Task Store_and_retrieve_round_trip_byte_for_byte(int size)
    {
        var data = MeshTestData.Bytes(size, size);
        var store = _mesh.Nodes[size % 15].Store;
        var stored = await store.StoreAsync(new MemoryStream(data), _owner);
        Assert.That(stored.Size, Is.EqualTo(size));
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[(size + 7) % 15].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task A_fresh_client_that_knows_one_peer_retrieves_with_only_the_cid_and_key()
    {
        var data = MeshTestData.Bytes(300_000, 42);
        var stored = await _mesh.Nodes[3].Store.StoreAsync(new MemoryStream(data), _owner);
        await using var client = await _mesh.StartClientAsync(bootstrapIndex: 9);
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey));
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task Each_segment_is_placed_on_fifteen_distinct_nodes()
    {
        var stored = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(200_000, 7)), _owner);
        var status = await _mesh.Nodes[2].Store.GetStatusAsync(stored.Cid);
        Assert.That(status.Health, Is.EqualTo(FileHealth.Excellent));
        foreach (var segment in status.Segments)
        {
            Assert.That(segment.ShardsVerified, Is.EqualTo(15));
            Assert.That(segment.Holders.Select(h => h.Node).Distinct().Count(), Is.EqualTo(15));
        }
    }
}
