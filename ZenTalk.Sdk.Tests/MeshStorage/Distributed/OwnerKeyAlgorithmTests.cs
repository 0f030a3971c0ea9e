using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Distributed.Proto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// ECDSA P-256 owner keys beside RSA ones on one shared 16-node mesh: manifests, tombstones and delete requests signed
/// with either kind, and every mix of a file owned by one kind and an operation signed by the other.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class OwnerKeyAlgorithmTests
{
    private LocalMesh _mesh = null!;
    private readonly Dictionary<OwnerKeyAlgorithm, OwnerKey> _owners = [];
    private readonly Dictionary<OwnerKeyAlgorithm, OwnerKey> _strangers = [];

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _mesh = await LocalMesh.StartAsync(16, MeshTestData.FastOptions());
        foreach (var kind in Enum.GetValues<OwnerKeyAlgorithm>())
        {
            _owners[kind] = kind == OwnerKeyAlgorithm.Rsa ? OwnerKey.Generate(2048) : OwnerKey.Generate(kind);
            _strangers[kind] = kind == OwnerKeyAlgorithm.Rsa ? OwnerKey.Generate(2048) : OwnerKey.Generate(kind);
        }
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        foreach (var key in _owners.Values.Concat(_strangers.Values)) key.Dispose();
    }

    private int HeldAnywhere(IEnumerable<Sha256Hash> hashes) => _mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes));

    [Test]
    public async Task A_file_stored_under_an_ecdsa_key_reads_back_and_its_owner_deletes_it_everywhere(CancellationToken cancellationToken)
    {
        var owner = _owners[OwnerKeyAlgorithm.EcdsaP256];
        var data = MeshTestData.Bytes(150_000, 31);
        var stored = await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[3].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.Owner, Is.EqualTo(owner.PublicKey));
        Assert.That(manifest.Owner.Algorithm, Is.EqualTo(OwnerKeyAlgorithm.EcdsaP256));
        await using (var client = await _mesh.StartClientAsync(5, cancellationToken))
            Assert.That(await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));

        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[0], stored.Cid);
        Assert.That(HeldAnywhere(hashes), Is.EqualTo(hashes.Count));
        await _mesh.Nodes[7].Store.DeleteAsync(stored.Cid, owner, cancellationToken);

        Assert.That(HeldAnywhere(hashes), Is.Zero, "the owner's ECDSA-signed delete removed every shard");
        var key = FileRecords.KeyOf(stored.Cid);
        var tombstones = _mesh.Nodes.Select(n => n.Network.Dht.Records.Get(key)).Where(r => r is not null && FileRecords.IsTombstone(r)).ToList();
        Assert.That(tombstones, Is.Not.Empty, "the ECDSA-signed tombstone was accepted");
        Assert.That(FileRecords.OpenTombstone(tombstones[0]!).Tombstone.Signature.Length, Is.EqualTo(64));
        var e = Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[9].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
        Assert.That(e!.Message, Does.Contain("deleted"));
    }

    [Test]
    public async Task Rotating_the_key_of_an_ecdsa_owned_file_keeps_the_owner_and_drops_the_old_cid(CancellationToken cancellationToken)
    {
        var owner = _owners[OwnerKeyAlgorithm.EcdsaP256];
        var data = MeshTestData.Bytes(40_000, 32);
        var stored = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var rotated = await _mesh.Nodes[2].Store.RotateKeyAsync(stored.Cid, stored.ContentKey, owner, cancellationToken);
        Assert.That(await MeshTestData.ReadAllAsync(await _mesh.Nodes[6].Store.RetrieveAsync(rotated.Cid, rotated.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));
        Assert.That((await _mesh.Nodes[6].MeshStore.FindManifestAsync(rotated.Cid, cancellationToken)).Owner, Is.EqualTo(owner.PublicKey));
        Assert.ThrowsAsync<MeshFileNotFoundException>(async () => await _mesh.Nodes[6].Store.RetrieveAsync(stored.Cid, stored.ContentKey));
    }

    [Test]
    public async Task A_file_is_not_deleted_by_a_key_of_either_kind_but_its_owners(
        [Values] OwnerKeyAlgorithm ownerKind, [Values] OwnerKeyAlgorithm strangerKind, CancellationToken cancellationToken)
    {
        var owner = _owners[ownerKind];
        var stranger = _strangers[strangerKind];
        var data = MeshTestData.Bytes(60_000, 40 + ((int)ownerKind * 3) + (int)strangerKind);
        var stored = await _mesh.Nodes[2].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[2], stored.Cid);

        Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await _mesh.Nodes[4].Store.DeleteAsync(stored.Cid, stranger));
        // Straight to every holder, validly signed by the stranger's own key: the shards are not theirs.
        DeleteShardsRequest? forged = null;
        foreach (var holder in _mesh.Nodes.Where(n => MeshTestData.CountHeld(n, hashes) > 0))
        {
            forged = DeleteAuthorization.Create(stranger, holder.Id, hashes, DateTimeOffset.UtcNow);
            var answer = await _mesh.Nodes[4].Network.Client.CallAsync(holder.Network.Server.LocalEndPoint, holder.Id,
                new Request { DeleteShards = forged }, TimeSpan.FromSeconds(10), cancellationToken);
            Assert.That(answer.DeleteShards.Deleted, Is.Zero);
        }

        // The stranger's tombstone of the file, signed with its own key and pushed to every node: not the owner's, so
        // refused (or, wherever it were kept, it would lose to the owner's manifest).
        var manifest = await _mesh.Nodes[2].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var tombstone = FileRecords.ForTombstone(manifest, stranger, DateTimeOffset.UtcNow);
        foreach (var node in _mesh.Nodes)
        {
            try
            {
                await _mesh.Nodes[4].Network.Client.CallAsync(node.Network.Server.LocalEndPoint, node.Id,
                    new Request { StoreValue = new StoreValueRequest { Record = tombstone } }, TimeSpan.FromSeconds(10), cancellationToken);
            }
            catch (MeshStorageException)
            {
                // Refusing it outright is as good as keeping the manifest over it.
            }
        }

        Assert.That(forged!.Signature.Length, Is.EqualTo(stranger.PublicKey.Algorithm == OwnerKeyAlgorithm.Rsa ? 256 : 64));
        Assert.That(HeldAnywhere(hashes), Is.EqualTo(hashes.Count), "nothing was deleted");
        Assert.That(_mesh.Nodes.Any(n => n.Files!.Files.Any(f => f.Key == stored.Cid && f.Value.Deleted)), Is.False, "no node believes the file deleted");
        Assert.That(await MeshTestData.ReadAllAsync(await _mesh.Nodes[11].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));

        // The owner still can.
        await _mesh.Nodes[4].Store.DeleteAsync(stored.Cid, owner, cancellationToken);
        Assert.That(HeldAnywhere(hashes), Is.Zero);
    }

    [Test]
    public async Task Puts_under_an_ecdsa_owners_store_delegation_are_accepted_and_held_for_that_owner(CancellationToken cancellationToken)
    {
        var owner = _owners[OwnerKeyAlgorithm.EcdsaP256];
        // Three segments of 64 KiB: a streamed store, whose puts carry the owner's delegation to the uploading node.
        var data = MeshTestData.Bytes(150_000, 51);
        var stored = await _mesh.Nodes[3].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[3], stored.Cid);
        var ownerId = Sha256Hash.Compute(owner.PublicKey.SubjectPublicKeyInfo);
        var holds = _mesh.Nodes.SelectMany(n => hashes.Select(h => n.Shards!.GetInfo(h)).OfType<ZenTalk.MeshStorage.Shards.ShardInfo>()).ToList();
        Assert.That(holds, Has.Count.EqualTo(hashes.Count));
        Assert.That(holds.SelectMany(i => i.Holds).Select(h => h.Owner), Is.All.EqualTo(ownerId), "every shard is held for the ECDSA owner");

        // A put straight to a node from node 0: under the owner's own delegation to node 0 it is kept; under a delegation
        // that names the ECDSA owner but is signed by an RSA key (or the reverse), it is refused.
        var node = _mesh.Nodes[6];
        var shard = MeshTestData.Bytes(3000, 52);
        var hash = Sha256Hash.Compute(shard);
        var sender = _mesh.Nodes[0].Id;
        Request Put(StoreDelegation delegation) => new()
        {
            PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash.ToArray()), Data = ByteString.CopyFrom(shard), Delegation = delegation },
        };
        async Task<MeshStorageException?> Send(Request request)
        {
            try
            {
                await _mesh.Nodes[0].Network.Client.CallAsync(node.Network.Server.LocalEndPoint, node.Id, request, TimeSpan.FromSeconds(10), cancellationToken);
                return null;
            }
            catch (MeshStorageException e)
            {
                return e;
            }
        }

        foreach (var (named, signer) in new[] { (owner, _owners[OwnerKeyAlgorithm.Rsa]), (_owners[OwnerKeyAlgorithm.Rsa], owner) })
        {
            var forged = StoreDelegations.Create(signer, sender, 0, DateTimeOffset.UtcNow.AddHours(1));
            forged.OwnerPublicKey = ByteString.CopyFrom(named.PublicKey.SubjectPublicKeyInfo);
            Assert.That(await Send(Put(forged)), Is.InstanceOf<UnauthorizedOperationException>(), $"{named.Algorithm} named, {signer.Algorithm} signed");
            Assert.That(node.Shards!.Contains(hash), Is.False);
        }

        var delegation = StoreDelegations.Create(owner, sender, 0, DateTimeOffset.UtcNow.AddHours(1));
        Assert.That(delegation.Signature.Length, Is.EqualTo(64), "the owner's delegation signature is ECDSA");
        Assert.That(await Send(Put(delegation)), Is.Null);
        Assert.That(node.Shards!.GetInfo(hash)!.Holds.Select(h => h.Owner), Is.EqualTo(new[] { ownerId }));
    }

    [Test]
    public void A_tombstone_signed_by_one_kind_never_passes_as_the_other_kinds([Values] OwnerKeyAlgorithm ownerKind)
    {
        var owner = _owners[ownerKind];
        var other = _owners[ownerKind == OwnerKeyAlgorithm.Rsa ? OwnerKeyAlgorithm.EcdsaP256 : OwnerKeyAlgorithm.Rsa];
        var manifest = Manifest.Sign(Format.ManifestTests.Body(owner), owner);
        var genuine = FileRecords.ForTombstone(manifest, owner, DateTimeOffset.UtcNow);
        Assert.That(FileRecords.OpenTombstone(genuine).Tombstone.Signature.Length, Is.EqualTo(owner.PublicKey.SignatureLength));

        // Signed by the key of the other kind, under its own name or under the owner's: both refused.
        var byOther = FileRecords.ForTombstone(manifest, other, DateTimeOffset.UtcNow);
        Assert.Throws<IntegrityException>(() => FileRecords.OpenTombstone(byOther));
        var renamed = Tombstone.Parser.ParseFrom(byOther.Value);
        renamed.OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo);
        var forged = byOther.Clone();
        forged.Value = renamed.ToByteString();
        Assert.Throws<IntegrityException>(() => FileRecords.OpenTombstone(forged));
    }
}
