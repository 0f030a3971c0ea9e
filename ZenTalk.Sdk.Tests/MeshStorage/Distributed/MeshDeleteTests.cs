using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Owner-signed deletion, tombstones, expiry and key rotation on one shared 16-node mesh.</summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshDeleteTests
{
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private OwnerKey _stranger = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions());
        _owner = OwnerKey.Generate(2048);
        _stranger = OwnerKey.Generate(2048);
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
        _stranger.Dispose();
    }

    private int HeldAnywhere(IEnumerable<Sha256Hash> hashes) => _mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes));

    [Test]
    public async Task Delete_by_the_owner_removes_every_shard_and_the_file(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(200_000, 11)), _owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[0], stored.Cid);
        Assert.That(HeldAnywhere(hashes), Is.EqualTo(hashes.Count));

        await _mesh.Nodes[5].Store.DeleteAsync(stored.Cid, _owner, cancellationToken);

        Assert.That(HeldAnywhere(hashes), Is.Zero);
        var e = Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[9].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
        Assert.That(e!.Message, Does.Contain("deleted"));
        Assert.Multiple(() =>
        {
            Assert.That(e.IsDeleted, Is.True);
            Assert.That(e.Cid, Is.EqualTo(stored.Cid));
            Assert.That(e.IsTransient, Is.False, "a deleted file does not come back on a retry");
        });
        // Deleting again is a no-op for the owner.
        await _mesh.Nodes[3].Store.DeleteAsync(stored.Cid, _owner, cancellationToken);
    }

    [Test]
    public async Task Delete_with_another_key_is_refused_and_loses_nothing(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(100_000, 12);
        var stored = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[1], stored.Cid);

        var refused = Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await _mesh.Nodes[2].Store.DeleteAsync(stored.Cid, _stranger));
        Assert.That((refused!.Cid, refused.IsTransient), Is.EqualTo(((Cid?)stored.Cid, false)), "the refusal names the file, and retrying will not help");

        // Straight to a holder, signed by the stranger: the signature is valid but the shards are not theirs.
        var holder = _mesh.Nodes.First(n => MeshTestData.CountHeld(n, hashes) > 0);
        var forged = DeleteAuthorization.Create(_stranger, holder.Id, hashes, DateTimeOffset.UtcNow);
        var answer = await _mesh.Nodes[2].Network.Client.CallAsync(holder.Network.Server.LocalEndPoint, holder.Id,
            new Request { DeleteShards = forged }, TimeSpan.FromSeconds(5), cancellationToken);
        Assert.That(answer.DeleteShards.Deleted, Is.Zero);
        Assert.That(HeldAnywhere(hashes), Is.EqualTo(hashes.Count));
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[4].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task A_replayed_or_stale_delete_request_is_refused(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, 13)), _owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[1], stored.Cid);
        var holder = _mesh.Nodes.First(n => MeshTestData.CountHeld(n, hashes) > 0);
        var client = _mesh.Nodes.First(n => n != holder).Network.Client;
        var endPoint = holder.Network.Server.LocalEndPoint;

        var stale = DeleteAuthorization.Create(_owner, holder.Id, hashes, DateTimeOffset.UtcNow - TimeSpan.FromHours(1));
        Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await client.CallAsync(endPoint, holder.Id,
            new Request { DeleteShards = stale }, TimeSpan.FromSeconds(5), cancellationToken));
        Assert.That(MeshTestData.CountHeld(holder, hashes), Is.GreaterThan(0));

        var fresh = DeleteAuthorization.Create(_owner, holder.Id, hashes, DateTimeOffset.UtcNow);
        var first = await client.CallAsync(endPoint, holder.Id, new Request { DeleteShards = fresh }, TimeSpan.FromSeconds(5), cancellationToken);
        Assert.That(first.DeleteShards.Deleted, Is.GreaterThan(0));
        var e = Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await client.CallAsync(endPoint, holder.Id,
            new Request { DeleteShards = fresh }, TimeSpan.FromSeconds(5), cancellationToken));
        Assert.That(e!.Message, Does.Contain("replayed"));
    }

    [Test]
    public async Task A_shard_of_a_deleted_file_is_not_stored_again(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[6].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(20_000, 14)), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[6].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var hash = manifest.ShardHash(0, 0);
        var holder = _mesh.Nodes.First(n => n.Shards!.Contains(hash));
        var bytes = (await holder.Shards!.GetAsync(hash, cancellationToken))!;
        await _mesh.Nodes[6].Store.DeleteAsync(stored.Cid, _owner, cancellationToken);
        Assert.That(holder.Shards.Contains(hash), Is.False);

        // Repair elsewhere or a late upload tries to put the shard back: the holder refuses it.
        var put = new Request { PutShard = new PutShardRequest { ShardHash = Google.Protobuf.ByteString.CopyFrom(hash.ToArray()), Data = Google.Protobuf.ByteString.CopyFrom(bytes) } };
        Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await _mesh.Nodes[6].Network.Client.CallAsync(
            holder.Network.Server.LocalEndPoint, holder.Id, put, TimeSpan.FromSeconds(5), cancellationToken));
        Assert.That(holder.Shards.Contains(hash), Is.False);
    }

    [Test]
    public async Task Files_stored_with_an_expiry_are_collected_everywhere_after_it(CancellationToken cancellationToken)
    {
        var stored = await _mesh.Nodes[7].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(100_000, 15)), _owner, new StoreOptions { ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(3) }, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[7], stored.Cid);
        Assert.That(HeldAnywhere(hashes), Is.EqualTo(hashes.Count));

        await Task.Delay(TimeSpan.FromSeconds(3.5), cancellationToken);
        foreach (var node in _mesh.Nodes) await node.RunRepairPassAsync(cancellationToken);

        Assert.That(HeldAnywhere(hashes), Is.Zero);
        Assert.That(_mesh.Nodes.Count(n => n.Files!.Files.Any(f => f.Key == stored.Cid)), Is.Zero);
        Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[8].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
    }

    [Test]
    public async Task Rotating_the_key_stores_a_new_cid_and_deletes_the_old(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(150_000, 16);
        var stored = await _mesh.Nodes[2].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await _mesh.Nodes[2].Store.RotateKeyAsync(stored.Cid, stored.ContentKey, _stranger));

        var rotated = await _mesh.Nodes[2].Store.RotateKeyAsync(stored.Cid, stored.ContentKey, _owner, cancellationToken);

        Assert.That(rotated.Cid, Is.Not.EqualTo(stored.Cid));
        Assert.That(rotated.ContentKey, Is.Not.EqualTo(stored.ContentKey));
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[10].Store.RetrieveAsync(rotated.Cid, rotated.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[10].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
        Assert.ThrowsAsync<IntegrityException>(async () => await MeshTestData.ReadAllAsync(await _mesh.Nodes[10].Store.RetrieveAsync(rotated.Cid, stored.ContentKey)));
    }
}
