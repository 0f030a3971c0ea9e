using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Defects the fault scenarios found, each pinned by a small test.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class MeshFaultRegressionTests
{
    // Found by the fault schedule: LocalMesh offered a stopped node as a bootstrap peer, whose closed socket threw
    // ObjectDisposedException, so no node could be restarted while another was down.
    [Test]
    public async Task A_node_restarts_while_another_node_is_stopped()
    {
        await using var mesh = await LocalMesh.StartAsync(3, MeshTestData.FastOptions());
        await mesh.StopNodeAsync(1);
        var back = await mesh.RestartNodeAsync(2);
        Assert.That(back.IsStopped, Is.False);
        Assert.That(await back.Network.Dht.PingAsync(mesh.Nodes[0].Network.Contact, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task A_client_cannot_be_started_through_a_stopped_node()
    {
        await using var mesh = await LocalMesh.StartAsync(2, MeshTestData.FastOptions());
        await mesh.StopNodeAsync(1);
        Assert.ThrowsAsync<InvalidOperationException>(() => mesh.StartClientAsync(1));
    }

    // Found by the fault schedule: repair of a file is the job of the live node closest to its CID, but a node repairs
    // only files in its own index. When that node was down or cut off while the file was stored, every other node
    // deferred to it and it never knew the file: segments stayed at 14 of 15 (then 10 of 15) shards for good.
    [Test]
    public async Task A_file_is_repaired_even_when_the_node_closest_to_its_cid_missed_the_store()
    {
        await using var mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions());
        using var owner = OwnerKey.Create(2048);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 31)), owner);
        var key = FileRecords.KeyOf(stored.Cid);
        int closest = Enumerable.Range(0, 16).OrderBy(i => mesh.Nodes[i].Id, Comparer<NodeId>.Create(key.CompareDistance)).First();
        mesh.Nodes[closest].Files!.Forget(stored.Cid);
        var holders = await MeshTestData.HolderIndexesAsync(mesh, mesh.Nodes[0], stored.Cid);
        int victim = holders.First(i => i != closest && i != 0);
        await mesh.StopNodeAsync(victim);

        SegmentStatus segment = null!;
        for (int round = 0; round < 3; round++)
        {
            foreach (int i in Enumerable.Range(0, 16).Where(i => i != victim)) await mesh.Nodes[i].RunRepairPassAsync();
            segment = (await mesh.Nodes[0].Store.GetStatusAsync(stored.Cid)).Segments[0];
            if (segment.ShardsVerified == 15) break;
        }
        Assert.That(segment.ShardsVerified, Is.EqualTo(15));
        Assert.That(mesh.Nodes[closest].Files!.Files.Select(f => f.Key), Does.Contain(stored.Cid), "the responsible node was handed the record");
    }
}
