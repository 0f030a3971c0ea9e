using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>A store that cannot reach its "happy" threshold fails and leaves nothing behind (own small mesh).</summary>
[TestFixture]
[CancelAfter(60_000)]
public class MeshPlacementFailureTests
{
    [Test]
    public async Task A_store_that_cannot_place_enough_shards_fails_and_leaves_nothing_behind(CancellationToken cancellationToken)
    {
        var options = MeshTestData.FastOptions();
        options.Node.Storage.QuotaBytes = 20_000; // Each node takes a couple of 6.6 KB shards, then refuses.
        await using var mesh = await LocalMesh.StartAsync(3, options, cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);

        var e = Assert.ThrowsAsync<ShardsUnavailableException>(async () =>
            await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(64 * 1024, 31)), owner));

        Assert.That(e!.Message, Does.Contain("Segment 0").And.Contain("at least 11 are needed"));
        foreach (var node in mesh.Nodes)
        {
            Assert.That((await node.Store.GetNetworkAsync(cancellationToken)).StoredShards, Is.Zero);
            // A manifest that went out while shards were still being placed was replaced by the owner's tombstone:
            // no node keeps a live file (which its repair service would chase) for a store reported as failed.
            Assert.That(node.Files!.Files.Where(f => !f.Value.Deleted).Select(f => f.Key), Is.Empty);
        }
    }

    [Test]
    public async Task With_fewer_nodes_than_shards_the_file_is_still_stored_and_readable(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(5, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var data = MeshTestData.Bytes(100_000, 32);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await mesh.Nodes[4].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }
}
