using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Peers that speak the shard protocol but lie, on one real 16-node loopback mesh: some nodes' shard handlers are
/// replaced by <see cref="HostileShardHandler"/> (so every lie crosses real TLS to whoever asks), and an attacker with
/// its own node identity pushes forged deletes, tombstones, manifests and shards over the wire.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class HostileShardTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private OwnerKey _stranger = null!;
    private AttackerPeer _attacker = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        var options = MeshTestData.FastOptions();
        options.Node.Storage.DeleteWindow = Window; // short, so that "replayed later" fits in a test; long enough for an honest delete on a loaded machine
        _mesh = await LocalMesh.StartAsync(16, options);
        _owner = OwnerKey.Generate(2048);
        _stranger = OwnerKey.Generate(2048);
        _attacker = new AttackerPeer(Deadline);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _attacker.DisposeAsync();
        await _mesh.DisposeAsync();
        _owner.Dispose();
        _stranger.Dispose();
    }

    [TearDown]
    public void HonestAgain()
    {
        foreach (var node in _mesh.Nodes) HostileShardHandler.Remove(node);
    }

    private Task<Response> Send(MeshNode to, Request request) => _attacker.Send(to, request);

    private Task<MeshStorageException?> Refusal(MeshNode to, Request request) => _attacker.Refusal(to, request);

    private async Task<(StoredFile File, byte[] Data, Manifest Manifest)> StoreAsync(int size, int seed, int via, CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(size, seed);
        var stored = await _mesh.Nodes[via].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[via].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        return (stored, data, manifest);
    }

    private async Task<byte[]> ReadWithFreshClientAsync(StoredFile file, int bootstrap)
    {
        await using var client = await _mesh.StartClientAsync(bootstrap);
        return await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(file.Cid, file.ContentKey));
    }

    private static IEnumerable<Sha256Hash> SegmentHashes(Manifest m, int segment) =>
        Enumerable.Range(0, m.TotalShards).Select(j => m.ShardHash(segment, j));

    private async Task<int> RepairEverywhereAsync(IEnumerable<MeshNode>? extra = null)
    {
        int dropped = 0;
        foreach (var node in _mesh.Nodes.Concat(extra ?? []))
            dropped += (await node.RunRepairPassAsync()).ShardsDropped;
        return dropped;
    }

    [Test]
    public async Task Holders_serving_wrong_shard_bytes_are_skipped_the_file_reads_back_exactly_and_repair_is_not_poisoned(CancellationToken cancellationToken)
    {
        var (file, data, manifest) = await StoreAsync(150_000, 101, via: 0, cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], file.Cid);
        var liarIndexes = holders.Where(i => i != 0).Take(3).ToList();
        var lies = new[] { ShardLie.FlipByte, ShardLie.OtherShard, ShardLie.Truncate };
        var liars = liarIndexes.Select((i, n) => HostileShardHandler.Install(_mesh.Nodes[i], lies[n])).ToList();
        var honest = Enumerable.Range(0, 16).Except(liarIndexes).Select(i => _mesh.Nodes[i]).ToList();

        Assert.That(await ReadWithFreshClientAsync(file, honest[1] == _mesh.Nodes[0] ? 1 : 0), Is.EqualTo(data));
        var status = await _mesh.Nodes[0].Store.GetStatusAsync(file.Cid, cancellationToken);
        Assert.That(liars.Sum(l => l.LiesTold), Is.GreaterThan(0), "the liars were asked and lied");
        Assert.That(status.Segments[0].ShardsFound, Is.EqualTo(15));
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(12), "status counts only shards that verify");

        // Lose two honest shards of segment 0 so repair must rebuild, with three liars among the holders it reads from.
        var lost = holders.Where(i => i != 0 && !liarIndexes.Contains(i)).Take(2).ToList();
        foreach (int i in lost)
            foreach (var hash in SegmentHashes(manifest, 0).Where(h => _mesh.Nodes[i].Shards!.Contains(h)).ToList())
                await _mesh.Nodes[i].Shards!.DeleteAsync(hash, cancellationToken);
        Assert.That(await MeshTestData.ValidShardsHeldAsync(honest, manifest, 0), Is.EqualTo(10));

        await RepairEverywhereAsync();

        // Not poisoned: honest nodes again hold at least the 12 shards the liars do not, every one verifying, so the
        // file survives losing every liar; and it still reads back exactly with the liars lying.
        for (int s = 0; s < manifest.SegmentCount; s++)
            Assert.That(await MeshTestData.ValidShardsHeldAsync(honest, manifest, s), Is.GreaterThanOrEqualTo(12), $"segment {s}");
        foreach (var node in honest)
            foreach (var info in node.Shards!.List())
                Assert.That(info.Hash.Matches((await node.Shards.GetAsync(info.Hash, cancellationToken))!), Is.True, "an honest node stores only shards that match their names");
        Assert.That(await ReadWithFreshClientAsync(file, 0), Is.EqualTo(data));
    }

    [Test]
    public async Task A_sole_key_holders_read_verified_by_tag_skips_lying_holders_and_reads_back_exactly(CancellationToken cancellationToken)
    {
        // Five segments. Three nodes that hold data shards of segment 0 (the uploader, node 0, may hold one too and
        // stays honest) lie: a reader asks for every data shard first, so each of them is asked.
        var (file, data, manifest) = await StoreAsync((4 * 64 * 1024) + 1_000, 107, via: 0, cancellationToken);
        var lies = new[] { ShardLie.FlipByte, ShardLie.OtherShard, ShardLie.Truncate };
        var liars = new List<HostileShardHandler>();
        var liarIndexes = new HashSet<int>();
        for (int j = 0; j < manifest.DataShards && liars.Count < lies.Length; j++)
        {
            foreach (int i in Enumerable.Range(1, 15))
            {
                if (liarIndexes.Contains(i) || !_mesh.Nodes[i].Shards!.Contains(manifest.ShardHash(0, j))) continue;
                liarIndexes.Add(i);
                liars.Add(HostileShardHandler.Install(_mesh.Nodes[i], lies[liars.Count]));
                break;
            }
        }

        Assert.That(liars, Has.Count.EqualTo(3), "three nodes other than the uploader hold data shards of segment 0");
        using var again = new CounterSum("zentalk.mesh.segments_verified_again");

        int bootstrap = Enumerable.Range(0, 16).First(i => !liarIndexes.Contains(i));
        await using (var client = await _mesh.StartClientAsync(bootstrap, cancellationToken))
        {
            var options = new RetrieveOptions { SoleKeyHolder = true };
            Assert.That(await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(file.Cid, file.ContentKey, options, cancellationToken), cancellationToken), Is.EqualTo(data));
            // A key that is not the file's still fails, after the checked read.
            Assert.ThrowsAsync<IntegrityException>(async () =>
                await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(file.Cid, ContentKey.Generate(), options, cancellationToken), cancellationToken));
        }

        Assert.That(liars[0].LiesTold + liars[1].LiesTold, Is.GreaterThan(0), "the liars whose bytes have the right length were asked");
        Assert.That(again.Total, Is.GreaterThanOrEqualTo(1), "a segment with a lying data shard failed its tag and was read again");
    }

    [Test]
    public async Task Peers_claiming_shards_they_do_not_hold_neither_break_reads_nor_hide_lost_shards_from_repair(CancellationToken cancellationToken)
    {
        var (file, data, manifest) = await StoreAsync(60_000, 102, via: 1, cancellationToken);
        var holders = await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[1], file.Cid);
        // Two nodes that hold nothing of the file (the one node placement left out, and a holder that lost its shard)
        // answer "yes" to every HAS_SHARDS; two honest holders lose their shards too.
        var outsider = Enumerable.Range(0, 16).Where(i => !holders.Contains(i) && i != 1).ToList();
        var liarIndexes = outsider.Concat(holders.Where(i => i != 1)).Take(2).ToList();
        var lost = liarIndexes.Where(holders.Contains).Concat(holders.Where(i => i != 1 && !liarIndexes.Contains(i)).Take(2)).ToList();
        foreach (int i in liarIndexes) HostileShardHandler.Install(_mesh.Nodes[i], ShardLie.ClaimEverything);
        foreach (int i in lost)
            foreach (var hash in SegmentHashes(manifest, 0).Where(h => _mesh.Nodes[i].Shards!.Contains(h)).ToList())
                await _mesh.Nodes[i].Shards!.DeleteAsync(hash, cancellationToken);
        int left = await MeshTestData.ValidShardsHeldAsync(_mesh.Nodes, manifest, 0);
        Assert.That(left, Is.EqualTo(15 - lost.Count).And.GreaterThanOrEqualTo(11));

        Assert.That(await ReadWithFreshClientAsync(file, 1), Is.EqualTo(data));
        var status = await _mesh.Nodes[1].Store.GetStatusAsync(file.Cid, cancellationToken);
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(left), "claims do not count; bytes do");

        // One pass: the verifying sample catches a liar (it claims the sampled shard too) and then none of its claims
        // count, so every lost shard is rebuilt now rather than one per pass.
        await RepairEverywhereAsync();
        Assert.That(await MeshTestData.ValidShardsHeldAsync(_mesh.Nodes, manifest, 0), Is.EqualTo(15));
        Assert.That(await ReadWithFreshClientAsync(file, 2), Is.EqualTo(data));
    }

    [Test]
    public async Task A_captured_owner_delete_replayed_or_tampered_is_refused_and_the_live_file_is_kept(CancellationToken cancellationToken)
    {
        var wiretaps = _mesh.Nodes.Select(n => (Node: n, Tap: HostileShardHandler.Install(n, ShardLie.None))).ToList();
        var (dead, _, deadManifest) = await StoreAsync(30_000, 103, via: 2, cancellationToken);
        var (live, liveData, liveManifest) = await StoreAsync(30_000, 104, via: 2, cancellationToken);
        await _mesh.Nodes[2].Store.DeleteAsync(dead.Cid, _owner, cancellationToken);
        var captured = wiretaps.SelectMany(w => w.Tap.CapturedDeletes.Select(r => (w.Node, Request: r))).ToList();
        Assert.That(captured, Is.Not.Empty, "the owner's delete went over the wire to the holders");
        var liveHashes = SegmentHashes(liveManifest, 0).ToList();

        // Replayed to the holder that got it: the nonce was used. (On a machine so loaded that the window has already
        // passed, the refusal names the window instead; either way it is refused.)
        foreach (var (holder, request) in captured)
        {
            var e = await Refusal(holder, new Request { DeleteShards = request });
            Assert.That(e, Is.InstanceOf<UnauthorizedOperationException>());
            if (DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(request.TimestampUnixMs) < Window - TimeSpan.FromSeconds(1))
                Assert.That(e!.Message, Does.Contain("replayed"));
        }

        // Tampered: the live file's hashes in place of the dead one's, or a fresh timestamp and nonce. The signature
        // covers all of them.
        var (someHolder, original) = captured[0];
        var swapped = original.Clone();
        swapped.ShardHashes.Clear();
        swapped.ShardHashes.AddRange(liveHashes.Select(h => ByteString.CopyFrom(h.ToArray())));
        var refreshed = original.Clone();
        refreshed.TimestampUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        refreshed.Nonce = ByteString.CopyFrom(new byte[DeleteAuthorization.NonceSize]);
        foreach (var node in _mesh.Nodes)
        {
            Assert.That(await Refusal(node, new Request { DeleteShards = swapped }), Is.InstanceOf<UnauthorizedOperationException>());
            Assert.That(await Refusal(node, new Request { DeleteShards = refreshed }), Is.InstanceOf<UnauthorizedOperationException>());
        }

        // Re-aimed at a node it was not signed for: refused whatever that node has seen.
        var stranger = _mesh.Nodes.First(n => n.Id != someHolder.Id);
        var reaimed = await Refusal(stranger, new Request { DeleteShards = original });
        Assert.That(reaimed, Is.InstanceOf<UnauthorizedOperationException>());
        Assert.That(reaimed!.Message, Does.Contain("another node"));

        // Replayed later to its holder: outside the window around the holder's clock.
        var stamp = DateTimeOffset.FromUnixTimeMilliseconds(original.TimestampUnixMs);
        var wait = stamp + Window + TimeSpan.FromMilliseconds(500) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
        var late = await Refusal(someHolder, new Request { DeleteShards = original });
        Assert.That(late, Is.InstanceOf<UnauthorizedOperationException>());
        Assert.That(late!.Message, Does.Contain("window"));

        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, liveHashes)), Is.EqualTo(15), "no shard of the live file was lost");
        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, SegmentHashes(deadManifest, 0))), Is.Zero);
        Assert.That(await ReadWithFreshClientAsync(live, 3), Is.EqualTo(liveData));
    }

    [Test]
    public async Task A_delete_signed_by_another_key_is_refused_by_every_node_and_loses_nothing(CancellationToken cancellationToken)
    {
        var (file, data, manifest) = await StoreAsync(40_000, 105, via: 4, cancellationToken);
        var hashes = SegmentHashes(manifest, 0).ToList();
        foreach (var node in _mesh.Nodes)
        {
            var theirs = DeleteAuthorization.Create(_stranger, node.Id, hashes, DateTimeOffset.UtcNow);
            // A valid signature by another key: the holder deletes none of the owner's shards.
            var answer = await Send(node, new Request { DeleteShards = DeleteAuthorization.Create(_stranger, node.Id, hashes, DateTimeOffset.UtcNow) });
            Assert.That(answer.DeleteShards.Deleted, Is.Zero);
            // The owner's key named, another key's signature: refused outright.
            var impersonated = theirs.Clone();
            impersonated.OwnerPublicKey = ByteString.CopyFrom(_owner.PublicKey.SubjectPublicKeyInfo);
            impersonated.Nonce = ByteString.CopyFrom(System.Security.Cryptography.RandomNumberGenerator.GetBytes(DeleteAuthorization.NonceSize));
            Assert.That(await Refusal(node, new Request { DeleteShards = impersonated }), Is.InstanceOf<UnauthorizedOperationException>());
        }

        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.EqualTo(15));
        Assert.That(await ReadWithFreshClientAsync(file, 5), Is.EqualTo(data));
    }

    [Test]
    public async Task Forged_tombstones_and_tampered_manifests_pushed_over_the_wire_are_refused_and_repair_deletes_nothing(CancellationToken cancellationToken)
    {
        var (file, data, manifest) = await StoreAsync(100_000, 106, via: 5, cancellationToken);
        var (dead, _, deadManifest) = await StoreAsync(20_000, 107, via: 5, cancellationToken);
        await _mesh.Nodes[5].Store.DeleteAsync(dead.Cid, _owner, cancellationToken);
        var genuine = FileRecords.ForManifest(manifest);
        var key = FileRecords.KeyOf(file.Cid);
        var deadTombstone = FileRecords.ForTombstone(deadManifest, _owner, DateTimeOffset.UtcNow);

        // The attacker's own tombstone for the file (its signature is good, over the right CID, and it carries the
        // file's manifest: but the manifest names another owner) and its own signed manifest.
        var attackerTombstone = FileRecords.ForTombstone(manifest, _stranger, DateTimeOffset.UtcNow);
        var strangerFile = await _mesh.Nodes[6].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(5_000, 108)), _stranger, cancellationToken: cancellationToken);
        var strangerManifest = FileRecords.ForManifest(await _mesh.Nodes[6].MeshStore.FindManifestAsync(strangerFile.Cid, cancellationToken));

        var impersonatedTombstone = attackerTombstone.Clone();
        var t = ZenTalk.MeshStorage.Distributed.Proto.Tombstone.Parser.ParseFrom(impersonatedTombstone.Value);
        t.OwnerPublicKey = ByteString.CopyFrom(_owner.PublicKey.SubjectPublicKeyInfo);
        impersonatedTombstone.Value = t.ToByteString();
        var flipped = genuine.Clone();
        var bytes = flipped.Value.ToByteArray();
        bytes[bytes.Length / 2] ^= 0x20;
        flipped.Value = ByteString.CopyFrom(bytes);
        var otherManifest = strangerManifest.Clone();
        otherManifest.Key = genuine.Key;
        var longerLife = genuine.Clone();
        longerLife.ExpiresUnixMs = DateTimeOffset.UtcNow.AddYears(5).ToUnixTimeMilliseconds();
        var movedTombstone = deadTombstone.Clone();
        movedTombstone.Key = genuine.Key;
        // The first tombstone format: the owner's signature, but no manifest to show the signer owns the file.
        var bare = ZenTalk.MeshStorage.Distributed.Proto.Tombstone.Parser.ParseFrom(deadTombstone.Value);
        bare.Manifest = ByteString.Empty;
        var withoutManifest = deadTombstone.Clone();
        withoutManifest.Value = bare.ToByteString();

        var mustBeRefused = new (string Name, ValueRecord Record)[]
        {
            ("tombstone naming the owner's key, signed by another", impersonatedTombstone),
            ("manifest with one byte changed", flipped),
            ("another owner's manifest under this CID", otherManifest),
            ("manifest record with a different expiry", longerLife),
            ("the owner's tombstone of another file under this CID", movedTombstone),
            ("a tombstone by another key, carrying the file's manifest", attackerTombstone),
            ("a tombstone without the manifest it deletes", withoutManifest),
        };
        foreach (var node in _mesh.Nodes)
        {
            foreach (var (name, record) in mustBeRefused)
                Assert.That(await Refusal(node, new Request { StoreValue = new StoreValueRequest { Record = record } }), Is.Not.Null, name);
        }

        foreach (var node in _mesh.Nodes)
        {
            Assert.That(node.Network.Dht.Records.Get(key) is { } kept && FileRecords.IsManifest(kept), Is.True, "the node still serves the manifest");
            Assert.That(node.Files!.Files.Any(f => f.Key == file.Cid && f.Value.Deleted), Is.False, "no node believes the file deleted");
        }

        var hashes = Enumerable.Range(0, manifest.SegmentCount).SelectMany(s => SegmentHashes(manifest, s)).ToList();
        int before = _mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes));
        await RepairEverywhereAsync();
        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.GreaterThanOrEqualTo(before), "repair deleted live shards");
        Assert.That(before, Is.EqualTo(hashes.Count));
        Assert.That(await ReadWithFreshClientAsync(file, 7), Is.EqualTo(data));
    }

    [Test]
    public async Task A_shard_put_carrying_a_forged_or_wrong_record_is_refused_and_its_shard_is_not_kept(CancellationToken cancellationToken)
    {
        var (file, data, manifest) = await StoreAsync(60_000, 211, via: 2, cancellationToken);
        var record = FileRecords.ForManifest(manifest);
        var forged = record.Clone();
        var value = forged.Value.ToByteArray();
        value[^1] ^= 0x01;
        forged.Value = ByteString.CopyFrom(value);
        var alien = record.Clone();
        alien.Type = 7;
        var node = _mesh.Nodes[5];
        int i = 0;
        foreach (var bad in new[] { forged, alien })
        {
            var shard = MeshTestData.Bytes(70_000, 300 + i++);
            var hash = Sha256Hash.Compute(shard);
            var put = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash.ToArray()), Data = ByteString.CopyFrom(shard), FileRecord = bad };
            Assert.That(await Refusal(node, new Request { PutShard = put }), Is.Not.Null, "refused");
            Assert.That(node.Shards!.Contains(hash), Is.False, "the refused put's shard is not kept");
        }

        // The record a put carried did not replace anything, and the node goes on serving the file.
        Assert.That(node.Network.Dht.Records.Get(FileRecords.KeyOf(file.Cid)), Is.EqualTo(record));
        Assert.That(await ReadWithFreshClientAsync(file, 5), Is.EqualTo(data));
    }

    [Test]
    public async Task A_deleted_file_pushed_back_with_its_old_manifest_and_shards_is_not_resurrected_by_anyone(CancellationToken cancellationToken)
    {
        var (file, _, manifest) = await StoreAsync(80_000, 109, via: 8, cancellationToken);
        var oldRecord = FileRecords.ForManifest(manifest);
        var hashes = Enumerable.Range(0, manifest.SegmentCount).SelectMany(s => SegmentHashes(manifest, s)).ToList();
        var oldShards = new Dictionary<Sha256Hash, byte[]>();
        foreach (var h in hashes)
            oldShards[h] = (await _mesh.Nodes.First(n => n.Shards!.Contains(h)).Shards!.GetAsync(h, cancellationToken))!;
        await _mesh.Nodes[8].Store.DeleteAsync(file.Cid, _owner, cancellationToken);
        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.Zero);

        // A storing node that joins after the delete knows nothing of it: the attacker's copies are accepted there.
        var joinerOptions = MeshTestData.FastOptions().ForNode(int.MaxValue, Path.Combine(_mesh.RootDirectory, "late-" + Guid.NewGuid().ToString("N")[..8]), 0,
            [_mesh.Nodes[0].BootstrapAddress], storeForOthers: true);
        await using var joiner = await MeshNode.StartAsync(joinerOptions, cancellationToken: cancellationToken);
        var everyone = _mesh.Nodes.Append(joiner).ToList();
        int refusedPuts = 0;
        foreach (var node in everyone)
        {
            _ = await Refusal(node, new Request { StoreValue = new StoreValueRequest { Record = oldRecord } });
            foreach (var (h, data) in oldShards)
            {
                // The owner's old manifest is an authority only where the tombstone is not known.
                var put = new PutShardRequest { ShardHash = ByteString.CopyFrom(h.ToArray()), Data = ByteString.CopyFrom(data), FileRecord = oldRecord };
                if (await Refusal(node, new Request { PutShard = put }) is UnauthorizedOperationException) refusedPuts++;
            }
        }

        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.Zero, "nodes that know of the delete refuse the shards");
        Assert.That(refusedPuts, Is.GreaterThanOrEqualTo(_mesh.Nodes.Count * hashes.Count));
        foreach (var node in _mesh.Nodes)
            Assert.That(node.Network.Dht.Records.Get(FileRecords.KeyOf(file.Cid)) is { } r && FileRecords.IsTombstone(r), Is.True, "the tombstone stays");
        Assert.That(MeshTestData.CountHeld(joiner, hashes), Is.EqualTo(hashes.Count), "the late joiner could not know");

        // Repair: the late joiner finds the tombstone and drops the copies; nobody puts the file back anywhere.
        await RepairEverywhereAsync([joiner]);
        Assert.That(everyone.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.Zero);
        Assert.That(joiner.Files!.Files.Single(f => f.Key == file.Cid).Value.Deleted, Is.True);
        await using var client = await _mesh.StartClientAsync(9, cancellationToken);
        var e = Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await client.Store.RetrieveAsync(file.Cid, file.ContentKey));
        Assert.That(e!.Message, Does.Contain("deleted"));
    }
}
