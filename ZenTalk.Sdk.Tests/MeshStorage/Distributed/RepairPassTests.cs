using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// A repair pass checks the files of its index side by side (<see cref="DistributedOptions.RepairFilesInParallel"/>):
/// one after another, a pass over an index of many files took as many lookups' time as it has files (the testnet's
/// long run: passes of 1.5-2 min under load). Side by side, every file is still checked and repaired once.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class RepairPassTests
{
    [Test]
    public async Task A_pass_checks_several_files_at_once_and_repairs_each_one(CancellationToken cancellationToken)
    {
        // 3 + 2 shards on 8 nodes: one shard per holder, and nodes that hold none to repair onto.
        var options = MeshTestData.FastOptions();
        options.Node.Coding.DataShards = 3;
        options.Node.Coding.ParityShards = 2;
        await using var mesh = await LocalMesh.StartAsync(8, options, cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);

        const int files = 8;
        var stored = new List<(Cid Cid, byte[] Data, ContentKey Key)>();
        for (int f = 0; f < files; f++)
        {
            var data = MeshTestData.Bytes(20_000, 700 + f);
            var s = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
            stored.Add((s.Cid, data, s.ContentKey));
            // One holder other than node 0 loses its shard of the file.
            var hashes = await MeshTestData.ShardHashesAsync(mesh.Nodes[0], s.Cid);
            var holder = mesh.Nodes.Skip(1).First(n => MeshTestData.CountHeld(n, hashes) > 0);
            foreach (var hash in hashes) await holder.Shards!.DeleteAsync(hash, cancellationToken);
        }

        int repaired = 0, peak = 0;
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var node in mesh.Nodes)
            {
                repaired += (await node.RunRepairPassAsync(cancellationToken)).ShardsRepaired;
                peak = Math.Max(peak, node.Repair!.LastPassPeakFiles);
                Assert.That(node.Repair.LastPassPeakFiles, Is.LessThanOrEqualTo(new DistributedOptions().RepairFilesInParallel));
            }
        }

        Assert.That(peak, Is.GreaterThan(1), "a pass over an index of 8 files checked more than one at a time");
        Assert.That(repaired, Is.EqualTo(files), "each file's lost shard rebuilt once");
        foreach (var (cid, data, key) in stored)
        {
            var status = await mesh.Nodes[0].Store.GetStatusAsync(cid, cancellationToken);
            Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(5), cid.ToString());
            var back = await MeshTestData.ReadAllAsync(await mesh.Nodes[0].Store.RetrieveAsync(cid, key, cancellationToken), cancellationToken);
            Assert.That(back, Is.EqualTo(data));
        }
    }
}
