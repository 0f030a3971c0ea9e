using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// File records (manifests and tombstones) against an attacker who pushes records of its own over real TLS to a real
/// 16-node loopback mesh, and who places nodes of its own next to a file's CID (node keys are free to grind): a
/// tombstone signed by the attacker's key, a type-0 record holding the manifest bytes under the CID, and records
/// crafted to hit the validation cache entry of a genuine manifest.
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public class HostileFileRecordTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private OwnerKey _stranger = null!;
    private AttackerPeer _attacker = null!;
    private readonly List<MeshNode> _extra = [];

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions());
        _owner = OwnerKey.Generate(2048);
        _stranger = OwnerKey.Generate(2048);
        _attacker = new AttackerPeer(TimeSpan.FromSeconds(10));
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        foreach (var node in _extra) await node.DisposeAsync();
        await _attacker.DisposeAsync();
        await _mesh.DisposeAsync();
        _owner.Dispose();
        _stranger.Dispose();
    }

    private async Task<MeshNode> StartNearAsync(Cid cid, int bits)
    {
        var node = await HostileRecords.StartNodeNearAsync(_mesh, MeshTestData.FastOptions(), _mesh.Nodes[1], FileRecords.KeyOf(cid), bits);
        _extra.Add(node);
        return node;
    }

    private async Task<(StoredFile File, byte[] Data, Manifest Manifest, List<Sha256Hash> Hashes)> StoreAsync(int size, int seed, int via, CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(size, seed);
        var file = await _mesh.Nodes[via].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[via].MeshStore.FindManifestAsync(file.Cid, cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[via], file.Cid);
        return (file, data, manifest, hashes);
    }

    private static string Describe(ValueRecord? record, OwnerKey owner) => record switch
    {
        null => "nothing",
        { Type: not FileRecords.Type } => $"a type-{record.Type} record",
        _ when FileRecords.IsManifest(record) => "the manifest",
        _ when FileRecords.IsTombstone(record) => ZenTalk.MeshStorage.Distributed.Proto.Tombstone.Parser.ParseFrom(record.Value).OwnerPublicKey.Span.SequenceEqual(owner.PublicKey.SubjectPublicKeyInfo)
            ? "the owner's tombstone" : "the attacker's tombstone",
        _ => $"a record named '{record.Name.ToStringUtf8()}'",
    };

    private IEnumerable<MeshNode> Everyone => _mesh.Nodes.Where(n => !n.IsStopped).Concat(_extra);

    [Test]
    public async Task A_holder_that_missed_the_delete_learns_it_whichever_tombstone_the_nodes_closest_to_the_cid_saw_first(CancellationToken cancellationToken)
    {
        var (file, _, manifest, hashes) = await StoreAsync(40_000, 51, via: 0, cancellationToken);
        var key = FileRecords.KeyOf(file.Cid);
        // A holder is offline while the owner deletes the file: it keeps its shards and the manifest.
        int h = (await MeshTestData.HolderIndexesAsync(_mesh, _mesh.Nodes[0], file.Cid)).First(i => i > 1);
        int heldByHolder = MeshTestData.CountHeld(_mesh.Nodes[h], hashes);
        await _mesh.StopNodeAsync(h);
        await _mesh.Nodes[0].Store.DeleteAsync(file.Cid, _owner, cancellationToken);
        var ownerTombstone = _mesh.Nodes[1].Network.Dht.Records.Get(key);
        Assert.That(ownerTombstone is not null && FileRecords.IsTombstone(ownerTombstone), Is.True);

        // The attacker's tombstone for the same CID, valid under its own key; the nodes it places next to the CID
        // (joining after the delete) get it before the owner's. One more late node gets the owner's first.
        var foreign = FileRecords.ForTombstone(manifest, _stranger, DateTimeOffset.UtcNow);
        var near = new List<MeshNode>();
        for (int i = 0; i < 3; i++) near.Add(await StartNearAsync(file.Cid, bits: 12));
        var late = await StartNearAsync(file.Cid, bits: 0);
        foreach (var node in near)
        {
            await _attacker.StoreRecordAsync(node, foreign);
            await _attacker.StoreRecordAsync(node, ownerTombstone!);
        }

        await _attacker.StoreRecordAsync(late, ownerTombstone!);
        await _attacker.StoreRecordAsync(late, foreign);

        // The holder comes back and runs its pass; then every node runs one.
        var holder = await _mesh.RestartNodeAsync(h, cancellationToken);
        await holder.RunRepairPassAsync(cancellationToken);
        int keptByHolder = MeshTestData.CountHeld(holder, hashes);
        foreach (var node in Everyone) await node.RunRepairPassAsync(cancellationToken);
        int heldAnywhere = Everyone.Sum(n => MeshTestData.CountHeld(n, hashes));
        var served = near.Append(late).Select(n => Describe(n.Network.Dht.Records.Get(key), _owner)).ToList();
        TestContext.Out.WriteLine($"holder had {heldByHolder} shards, kept {keptByHolder} after its pass; {heldAnywhere} held anywhere after everyone's pass; the nodes next to the CID serve: {string.Join(", ", served)}");

        Assert.That(keptByHolder, Is.Zero, "the holder learned of the delete");
        Assert.That(heldAnywhere, Is.Zero);
        Assert.That(served, Has.All.EqualTo("the owner's tombstone"));
        foreach (var node in near.Append(late))
            Assert.That(node.Files!.Files.Single(f => f.Key == file.Cid).Value.Deleted, Is.True);
        await using var client = await _mesh.StartClientAsync(5, cancellationToken);
        var e = Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await client.Store.RetrieveAsync(file.Cid, file.ContentKey), "deleted is not found (404), not unavailable (503)");
        Assert.That(e!.Message, Does.Contain("deleted"));
    }

    [Test]
    public async Task A_type_0_record_holding_the_manifest_bytes_under_the_cid_does_not_hide_the_file(CancellationToken cancellationToken)
    {
        var (file, data, manifest, hashes) = await StoreAsync(40_000, 52, via: 2, cancellationToken);
        var key = FileRecords.KeyOf(file.Cid);
        // A valid generic immutable record: its key is the SHA-256 of its value, and the value is the manifest.
        var shadow = new ValueRecord
        {
            Key = ByteString.CopyFrom(key.ToByteArray()),
            Kind = RecordKind.Immutable,
            Value = ByteString.CopyFrom(manifest.Bytes.Span),
        };
        var genuine = FileRecords.ForManifest(manifest);
        // The attacker's nodes next to the CID get the shadow before the file record (which an honest node's
        // republish brings them next); every other node gets it after.
        var near = new List<MeshNode>();
        for (int i = 0; i < 3; i++) near.Add(await StartNearAsync(file.Cid, bits: 12));
        foreach (var node in near)
        {
            await _attacker.StoreRecordAsync(node, shadow);
            await _attacker.StoreRecordAsync(node, genuine);
        }

        foreach (var node in _mesh.Nodes) await _attacker.StoreRecordAsync(node, shadow);

        await using var client = await _mesh.StartClientAsync(5, cancellationToken);
        Exception? statusError = null, rotateError = null;
        MeshFileStatus? status = null;
        StoredFile? rotated = null;
        try
        {
            status = await client.Store.GetStatusAsync(file.Cid, cancellationToken);
        }
        catch (MeshStorageException e)
        {
            statusError = e;
        }

        try
        {
            rotated = await client.Store.RotateKeyAsync(file.Cid, file.ContentKey, _owner, cancellationToken);
        }
        catch (MeshStorageException e)
        {
            rotateError = e;
        }

        foreach (var node in Everyone) await node.RunRepairPassAsync(cancellationToken);
        int oldHeld = Everyone.Sum(n => MeshTestData.CountHeld(n, hashes));
        var served = near.Select(n => Describe(n.Network.Dht.Records.Get(key), _owner)).ToList();
        TestContext.Out.WriteLine($"status: {status?.Health.ToString() ?? statusError!.Message}; rotation: {(rotated is null ? rotateError!.Message : "done")}; old shards held after repair: {oldHeld}; the nodes next to the CID serve: {string.Join(", ", served)}");

        Assert.That(statusError, Is.Null, "status sees the file");
        Assert.That(status!.Health, Is.EqualTo(FileHealth.Excellent));
        Assert.That(rotateError, Is.Null, "rotation (read, store, delete) sees the file");
        Assert.That(oldHeld, Is.Zero, "the old file's deletion reached every holder, and repair did not bring it back");
        Assert.That(served, Has.All.EqualTo("the owner's tombstone"));
        await using var reader = await _mesh.StartClientAsync(7, cancellationToken);
        Assert.That(await MeshTestData.ReadAllAsync(await reader.Store.RetrieveAsync(rotated!.Cid, rotated.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));
    }

    [Test]
    public async Task Records_crafted_to_hit_the_validation_cache_entry_of_a_genuine_manifest_are_refused(CancellationToken cancellationToken)
    {
        var (file, data, manifest, _) = await StoreAsync(30_000, 53, via: 4, cancellationToken);
        var key = FileRecords.KeyOf(file.Cid);
        var genuine = FileRecords.ForManifest(manifest);
        // A node next to the CID that reads the file once (its validator verifies the genuine manifest) but holds none
        // of its records.
        var node = await StartNearAsync(file.Cid, bits: 12);
        Assert.That(await MeshTestData.ReadAllAsync(await node.Store.RetrieveAsync(file.Cid, file.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));
        Assert.That(node.Network.Dht.Records.Get(key), Is.Null);

        // Name and value concatenated are the genuine record's name and value, cut in another place.
        var value = genuine.Value.ToByteArray();
        var shifted = genuine.Clone();
        shifted.Name = ByteString.CopyFrom([(byte)'m', value[0]]);
        shifted.Value = ByteString.CopyFrom(value[1..]);
        var nameless = genuine.Clone();
        nameless.Name = ByteString.Empty;
        nameless.Value = ByteString.CopyFrom([(byte)'m', .. value]);
        var results = new List<string>();
        var kept = new List<ValueRecord?>();
        foreach (var (name, record) in new[] { ("name takes the value's first byte", shifted), ("value takes the name", nameless) })
        {
            var refusal = await _attacker.StoreRecordAsync(node, record);
            var held = node.Network.Dht.Records.Get(key);
            results.Add($"{name}: {(refusal is null ? "accepted" : "refused")}, node holds {(held is null ? "nothing" : held.Equals(record) ? "the crafted record" : Describe(held, _owner))}");
            kept.Add(held);
        }

        Exception? readError = null;
        byte[]? back = null;
        await using var client = await _mesh.StartClientAsync(6, cancellationToken);
        try
        {
            back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(file.Cid, file.ContentKey, cancellationToken), cancellationToken);
        }
        catch (MeshStorageException e)
        {
            readError = e;
        }

        TestContext.Out.WriteLine(string.Join("; ", results) + $"; a fresh reader: {(readError is null ? "read the file" : readError.GetType().Name + ": " + readError.Message)}");
        Assert.That(kept, Has.All.Null.Or.EqualTo(genuine), "the node keeps no crafted record");
        Assert.That(readError, Is.Null);
        Assert.That(back, Is.EqualTo(data));
    }
}
