using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// One-segment files are placed by their CID, so a reader gets the data shards in the FIND_VALUE round that brings the
/// manifest. On one shared 20-node loopback mesh (more nodes than shards, so the CID's closest nodes are a real choice);
/// tests that stop nodes start a mesh of their own.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshOneSegmentTests
{
    private const int Nodes = 20;
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(Nodes, MeshTestData.FastOptions());
        _owner = OwnerKey.Generate(2048);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
    }

    /// <summary>
    /// The read's last fallback (the testnet's reads after a partition healed): the file's holders are in the reader's
    /// table but count as failed a moment ago, and each has a probe in flight that has not answered yet (another
    /// lookup's, held here), while the other nodes answer at once. The manifest round skips the holders, the first tries
    /// skip them, and the holder lookup ends without them: the shards are found only by asking the table's closest nodes
    /// that the lookup left out.
    /// </summary>
    [Test]
    public async Task A_read_finds_the_shards_at_table_nodes_that_the_holder_lookup_left_out(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(40_000, 1907);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[0].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var hashes = Enumerable.Range(0, manifest.TotalShards).Select(j => manifest.ShardHash(0, j)).ToList();
        var holders = _mesh.Nodes.Where(n => hashes.Any(h => n.Shards!.Contains(h))).Select(n => n.Id).ToList();
        Assert.That(holders, Has.Count.EqualTo(manifest.TotalShards), "one shard per holder");

        var reader = await _mesh.StartClientAsync(cancellationToken: cancellationToken);
        var dht = reader.Network.Dht;
        Assume.That(dht.Table.Count, Is.EqualTo(Nodes), "the reader knows every node");
        var probing = new List<NodeId>();
        try
        {
            foreach (var holder in holders)
            {
                dht.Table.RecordFailure(holder);
                Assert.That(dht.TryStartProbe(holder, out _), Is.True);
                probing.Add(holder);
            }

            var back = await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
            Assert.That(back, Is.EqualTo(data));
        }
        finally
        {
            foreach (var holder in probing) dht.EndProbe(holder, answered: false);
        }
    }

    [Test]
    public async Task A_one_segment_file_is_placed_by_its_cid_and_its_data_shards_come_with_the_manifest(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(50_000, 1801);
        var stored = await _mesh.Nodes[3].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[3].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(1));
        var places = ByDistance(_mesh, FileRecords.KeyOf(stored.Cid));
        for (int j = 0; j < manifest.TotalShards; j++)
            Assert.That(_mesh.Nodes[places[j]].Shards!.Contains(manifest.ShardHash(0, j)), Is.True, $"shard {j} is on the node at place {j} from the CID");
        Assert.That(Placement.SegmentKey(manifest, 0), Is.EqualTo(FileRecords.KeyOf(stored.Cid)), "the placement rule names the CID");
        Assert.That(Placement.SegmentHashes(manifest, 0).Select(h => _mesh.Nodes.Count(n => n.Shards!.Contains(h))), Is.All.EqualTo(1),
            "a warm routing table named the lookup's nodes: no put went anywhere else");

        await using var client = await _mesh.StartClientAsync(5, cancellationToken);
        // A client holds nothing itself: every shard it reads comes over the wire.
        using var served = new RpcKindCounts();
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(served["GetShard"], Is.Zero, "every data shard came with a FIND_VALUE answer");
        Assert.That(served["HasShards"], Is.Zero);
        Assert.That(served["FindValue"], Is.EqualTo(Nodes), "one round: every node closest to the CID asked once");

        // A storing reader reads its own shard from disk and the rest in the same round.
        int reader = places[2];
        served.Clear();
        back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[reader].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(served["GetShard"], Is.Zero);
        Assert.That(served["FindValue"], Is.EqualTo(Nodes - 1));
    }

    [Test]
    public async Task A_store_through_a_stale_routing_table_places_every_shard_where_the_lookup_says_and_takes_back_the_early_copies(CancellationToken cancellationToken)
    {
        // The puts go out to the nodes the table names before the lookup answers; a table that misses nodes closer to
        // the CID must not leave shards where no reader looks, nor copies beside them.
        await using var client = await _mesh.StartClientAsync(12, cancellationToken);
        var table = client.Network.Dht.Table;
        foreach (var node in _mesh.Nodes.Where((_, i) => i % 2 == 0)) table.Remove(node.Id);
        Assume.That(table.Count, Is.EqualTo(Nodes / 2));
        var data = MeshTestData.Bytes(35_000, 1809);
        var stored = await client.Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await client.MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var places = ByDistance(_mesh, FileRecords.KeyOf(stored.Cid));
        for (int j = 0; j < manifest.TotalShards; j++)
            Assert.That(_mesh.Nodes[places[j]].Shards!.Contains(manifest.ShardHash(0, j)), Is.True, $"shard {j} is on the node at place {j} from the CID");
        Assert.That(Placement.SegmentHashes(manifest, 0).Select(h => _mesh.Nodes.Count(n => n.Shards!.Contains(h))), Is.All.EqualTo(1),
            "the early copies at the table's nodes the lookup overruled were deleted before the store returned");
        foreach (int i in places.Take(manifest.TotalShards))
            Assert.That(_mesh.Nodes[i].Files!.LiveManifest(stored.Cid), Is.Not.Null, $"place {places.IndexOf(i)} keeps the manifest");
        var status = await _mesh.Nodes[0].Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(15));
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[1].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task A_holder_serving_a_corrupt_shard_with_the_manifest_is_rejected_and_the_file_still_reads(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(40_000, 1802);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var places = ByDistance(_mesh, FileRecords.KeyOf(stored.Cid));
        await using var client = await _mesh.StartClientAsync(1, cancellationToken);
        var liar = _mesh.Nodes[places[4]].ShardHandler!;
        liar.CorruptServedShards = true;
        try
        {
            using var served = new RpcKindCounts();
            var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
            Assert.That(back, Is.EqualTo(data));
            Assert.That(served["GetShard"], Is.EqualTo(1), "the bad shard 4 counted as missing; parity shard 10 was fetched instead");
        }
        finally
        {
            liar.CorruptServedShards = false;
        }
    }

    [Test]
    public async Task A_file_of_several_segments_is_placed_by_its_segment_keys_and_read_by_get_shard(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(200_000, 1803);
        var stored = await _mesh.Nodes[6].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[6].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(4), "200,000 bytes in 64 KiB segments");
        for (int s = 0; s < manifest.SegmentCount; s++)
        {
            var key = Placement.SegmentKey(manifest, s);
            Assert.That(key, Is.EqualTo(Placement.ShardsKey(Placement.SegmentHashes(manifest, s))));
            var places = ByDistance(_mesh, key);
            for (int j = 0; j < manifest.TotalShards; j++)
                Assert.That(_mesh.Nodes[places[j]].Shards!.Contains(manifest.ShardHash(s, j)), Is.True, $"segment {s}, shard {j}");
        }

        await using var client = await _mesh.StartClientAsync(7, cancellationToken);
        using var served = new RpcKindCounts();
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(served["GetShard"], Is.EqualTo(4 * 10), "the data shards of each segment, by GET_SHARD");
    }

    [Test]
    public async Task Status_repair_and_delete_of_a_one_segment_file_look_where_it_was_placed(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[8].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 1804)), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[8].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var places = ByDistance(_mesh, FileRecords.KeyOf(stored.Cid));
        var hashes = Placement.SegmentHashes(manifest, 0);

        var status = await _mesh.Nodes[9].Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Health, Is.EqualTo(FileHealth.Excellent));
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(15));
        Assert.That(status.Segments[0].Holders.Select(h => h.Node), Is.EquivalentTo(places.Take(15).Select(i => _mesh.Nodes[i].Id)));

        // Shard 3 is lost: repair rebuilds it on the closest node to the CID that holds nothing of the file, its place.
        await _mesh.Nodes[places[3]].Shards!.DeleteAsync(hashes[3], cancellationToken);
        Assert.That((await _mesh.Nodes[9].Store.GetStatusAsync(stored.Cid, cancellationToken)).Segments[0].MissingShards, Is.EqualTo(new[] { 3 }));
        foreach (var node in _mesh.Nodes) await node.RunRepairPassAsync(cancellationToken);
        status = await _mesh.Nodes[9].Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(15));
        Assert.That(_mesh.Nodes[places[3]].Shards!.Contains(hashes[3]), Is.True, "back at its place, where readers ask for it");

        await _mesh.Nodes[8].Store.DeleteAsync(stored.Cid, _owner, cancellationToken);
        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.Zero, "every holder dropped its shard");
        Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[9].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken));
    }

    [Test]
    public async Task A_find_value_gets_a_shard_only_of_a_live_one_segment_file_whose_record_and_shard_the_node_holds(CancellationToken cancellationToken)
    {
        var one = await _mesh.Nodes[10].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(20_000, 1805)), _owner, cancellationToken: cancellationToken);
        var many = await _mesh.Nodes[10].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(150_000, 1806)), _owner, cancellationToken: cancellationToken);
        var deleted = await _mesh.Nodes[10].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(20_000, 1807)), _owner, cancellationToken: cancellationToken);
        await _mesh.Nodes[10].Store.DeleteAsync(deleted.Cid, _owner, cancellationToken);
        var oneManifest = await _mesh.Nodes[10].MeshStore.FindManifestAsync(one.Cid, cancellationToken);
        var manyManifest = await _mesh.Nodes[10].MeshStore.FindManifestAsync(many.Cid, cancellationToken);
        await using var client = await _mesh.StartClientAsync(11, cancellationToken);
        var asker = client.Network.Client;

        async Task<FindValueResponse> AskAsync(MeshNode node, NodeId key, uint? index)
        {
            var request = new FindValueRequest { Key = ByteString.CopyFrom(key.ToByteArray()) };
            if (index is { } i) request.ShardIndex = i;
            var contact = new PeerContact(node.Id, System.Net.IPEndPoint.Parse(node.Endpoint));
            return (await asker.CallAsync(contact, new Request { FindValue = request }, TimeSpan.FromSeconds(10), cancellationToken)).FindValue;
        }

        var oneKey = FileRecords.KeyOf(one.Cid);
        var first = _mesh.Nodes[ByDistance(_mesh, oneKey)[0]];
        var answer = await AskAsync(first, oneKey, 0);
        Assert.That(answer.Record, Is.Not.Null);
        Assert.That(oneManifest.ShardHash(0, 0).Matches(answer.Shard.Span), Is.True, "the honest case: the shard it holds");
        Assert.That((await AskAsync(first, oneKey, null)).Shard.IsEmpty, Is.True, "not asked, not sent");

        foreach (uint outOfRange in new[] { 15u, 16u, uint.MaxValue })
        {
            answer = await AskAsync(first, oneKey, outOfRange);
            Assert.That(answer.Record, Is.Not.Null, $"index {outOfRange}");
            Assert.That(answer.Shard.IsEmpty, Is.True, $"index {outOfRange} is no shard of the file");
        }

        answer = await AskAsync(first, oneKey, 3);
        Assert.That(answer.Record, Is.Not.Null);
        Assert.That(first.Shards!.Contains(oneManifest.ShardHash(0, 3)), Is.False);
        Assert.That(answer.Shard.IsEmpty, Is.True, "a shard the node does not hold");

        var unknown = new NodeId(RandomNumberGenerator.GetBytes(32));
        answer = await AskAsync(first, unknown, 0);
        Assert.That(answer.Record, Is.Null);
        Assert.That(answer.Shard.IsEmpty, Is.True, "no record, no shard");

        // A file of several segments: the holder of segment 0's shard 0 also holds the record (20 nodes, all closest).
        var holder = _mesh.Nodes[ByDistance(_mesh, Placement.SegmentKey(manyManifest, 0))[0]];
        Assert.That(holder.Shards!.Contains(manyManifest.ShardHash(0, 0)), Is.True);
        answer = await AskAsync(holder, FileRecords.KeyOf(many.Cid), 0);
        Assert.That(answer.Record, Is.Not.Null);
        Assert.That(answer.Shard.IsEmpty, Is.True, "only the shards of one-segment files come with the record");

        var deletedKey = FileRecords.KeyOf(deleted.Cid);
        answer = await AskAsync(_mesh.Nodes[ByDistance(_mesh, deletedKey)[0]], deletedKey, 0);
        Assert.That(FileRecords.IsTombstone(answer.Record), Is.True);
        Assert.That(answer.Shard.IsEmpty, Is.True, "nothing of a deleted file");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task With_data_holders_down_the_missing_shards_come_from_parity_by_get_shard(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        var data = MeshTestData.Bytes(45_000, 1808);
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var places = ByDistance(mesh, FileRecords.KeyOf(stored.Cid));
        await using var client = await mesh.StartClientAsync(places[15], cancellationToken);
        var down = new[] { places[1], places[4], places[7] };
        await Task.WhenAll(down.Select(mesh.StopNodeAsync));

        using var served = new RpcKindCounts();
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(served["GetShard"], Is.EqualTo(3), "shards 1, 4 and 7 missing: parity shards 10, 11 and 12 by GET_SHARD");
    }

    /// <summary>Indexes of the mesh's nodes, closest to <paramref name="key"/> first.</summary>
    private static List<int> ByDistance(LocalMesh mesh, NodeId key) =>
        Enumerable.Range(0, mesh.Nodes.Count).OrderBy(i => mesh.Nodes[i].Id, Comparer<NodeId>.Create(key.CompareDistance)).ToList();
}
