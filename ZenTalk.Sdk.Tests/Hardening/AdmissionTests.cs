using System.Net;
using System.Security.Cryptography;
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
/// Admission and accounting attacks, run for real on a loopback mesh (TLS, sockets, pack files on disk): a stranger
/// with its own node identity tries to make a node keep bytes no owner authorized, to fill it under keys and identities
/// of its own, to cancel an owner's expiry, and to replay or re-aim an owner's delete. Each test prints the figure it
/// measures (docs/security.md, "Admission and accounting").
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public class AdmissionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(4);

    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private OwnerKey _stranger = null!;
    private AttackerPeer _attacker = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        var options = MeshTestData.FastOptions();
        options.Node.Storage.UnreferencedGrace = Grace; // short, so that "after the grace" fits in a test
        _mesh = await LocalMesh.StartAsync(15, options);
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

    private Task<Response> Send(MeshNode to, Request request) => _attacker.Send(to, request);

    private Task<MeshStorageException?> Refusal(MeshNode to, Request request, AttackerPeer? from = null) => (from ?? _attacker).Refusal(to, request);

    private static Request Put(Sha256Hash hash, byte[] data, StoreDelegation? delegation = null, ValueRecord? record = null) =>
        new()
        {
            PutShard = new PutShardRequest
            {
                ShardHash = ByteString.CopyFrom(hash.ToArray()),
                Data = ByteString.CopyFrom(data),
                Delegation = delegation,
                FileRecord = record,
            },
        };

    /// <summary><paramref name="owner"/>'s delegation of its puts to <paramref name="uploader"/>, for an hour, shards without expiry.</summary>
    private static StoreDelegation Delegate(OwnerKey owner, NodeId uploader) =>
        StoreDelegations.Create(owner, uploader, 0, DateTimeOffset.UtcNow.AddHours(1));

    private static IEnumerable<Sha256Hash> AllHashes(Manifest m) =>
        Enumerable.Range(0, m.SegmentCount).SelectMany(s => Enumerable.Range(0, m.TotalShards).Select(j => m.ShardHash(s, j)));

    private MeshNode HolderOf(Sha256Hash hash) => _mesh.Nodes.First(n => n.Shards!.Contains(hash));

    private static async Task PassesAsync(IEnumerable<MeshNode> nodes)
    {
        foreach (var node in nodes) await node.RunRepairPassAsync();
    }

    [Test]
    public async Task A_stranger_cannot_make_a_node_keep_shards_no_owner_authorized(CancellationToken cancellationToken)
    {
        // What a stranger can get hold of: the owner's delegation to its own device (a holder saw it on a put), the same
        // with the stranger's node id put in, and a real manifest of the owner's.
        var captured = Delegate(_owner, _mesh.Nodes[0].Id);
        var altered = captured.Clone();
        altered.UploaderNodeId = ByteString.CopyFrom(_attacker.Identity.Id.ToByteArray());
        var (record, _) = await StoreOneAsync(905, via: 0, shard: 0, cancellationToken);
        var victim = _mesh.Nodes[3];
        long before = victim.Shards!.GetStats().StoredBytes;
        const int count = 64, size = 1 << 20;
        int refused = 0;
        for (int i = 0; i < count; i++)
        {
            var junk = RandomNumberGenerator.GetBytes(size);
            var hash = Sha256Hash.Compute(junk);
            var attempts = new[] { Put(hash, junk), Put(hash, junk, captured), Put(hash, junk, altered), Put(hash, junk, record: record) };
            if (await Refusal(victim, attempts[i % 4]) is UnauthorizedOperationException) refused++;
        }

        long kept = victim.Shards.GetStats().StoredBytes - before;
        TestContext.Out.WriteLine($"unauthorized bytes kept: {kept} of {(long)count * size} sent; {refused} puts refused; quota {victim.Shards.GetStats().QuotaBytes}");
        Assert.That(refused, Is.EqualTo(count));
        Assert.That(kept, Is.Zero);
        Assert.That(victim.Shards.GetStats().QuotaBytes, Is.EqualTo(MeshShardStorageOptions.DefaultQuotaBytes), "a node has a quota by default");
    }

    [Test]
    public async Task Many_keys_and_identities_from_one_peer_or_prefix_stay_inside_their_limits_and_the_node_inside_its_quota(CancellationToken cancellationToken)
    {
        const long quota = 24L << 20, perPeer = 6L << 20, perPrefix = 12L << 20, perOwner = 3L << 20;
        var options = new MeshNodeOptions
        {
            DataDirectory = Path.Combine(_mesh.RootDirectory, "victim-" + Guid.NewGuid().ToString("N")[..8]),
            Storage = { QuotaBytes = quota, MaxBytesPerOwner = perOwner, MaxBytesPerPeer = perPeer, MaxBytesPerAddressPrefix = perPrefix },
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        };
        await using var victim = await MeshNode.StartAsync(options, cancellationToken: cancellationToken);
        const int size = 512 * 1024;

        // Four identities on 127.0.9.0/24, each with eight owner keys of its own, each key delegating its puts to that identity.
        var keys = Enumerable.Range(0, 8).Select(_ => OwnerKey.Generate(2048)).ToList();
        long accepted = 0, refusedQuota = 0;
        try
        {
            for (int peer = 0; peer < 4; peer++)
            {
                await using var client = new AttackerPeer(Deadline, IPAddress.Parse($"127.0.9.{peer + 1}"));
                foreach (var key in keys)
                {
                    var delegation = Delegate(key, client.Identity.Id);
                    for (int i = 0; i < 4; i++)
                    {
                        var junk = RandomNumberGenerator.GetBytes(size);
                        var hash = Sha256Hash.Compute(junk);
                        switch (await Refusal(victim, Put(hash, junk, delegation), client))
                        {
                            case null: accepted += size; break;
                            case QuotaExceededException: refusedQuota++; break;
                            case var e: Assert.Fail("unexpected refusal: " + e); break;
                        }
                    }
                }
            }

            var attackerPrefix = AddressPrefix.Of(IPAddress.Parse("127.0.9.1")).ToUInt128();
            long fromPrefix = victim.Shards!.BytesSentFrom(attackerPrefix);
            TestContext.Out.WriteLine($"4 peers x 8 keys on one /24 offered {4 * 8 * 4 * (long)size} bytes: {accepted} kept ({fromPrefix} from the prefix), {refusedQuota} puts refused over a limit; node holds {victim.Shards.GetStats().StoredBytes} of a {quota} quota");
            Assert.That(fromPrefix, Is.EqualTo(accepted).And.LessThanOrEqualTo(perPrefix));
            Assert.That(keys.Max(k => victim.Shards.BytesHeldFor(Sha256Hash.Compute(k.PublicKey.SubjectPublicKeyInfo))), Is.LessThanOrEqualTo(perOwner));
            Assert.That(victim.Shards.GetStats().StoredBytes, Is.LessThanOrEqualTo(quota));

            // An honest owner from another prefix still gets its shard stored.
            var honest = RandomNumberGenerator.GetBytes(size);
            var honestHash = Sha256Hash.Compute(honest);
            Assert.That(await Refusal(victim, Put(honestHash, honest, Delegate(_owner, _attacker.Identity.Id))), Is.Null);
            Assert.That(victim.Shards.Contains(honestHash), Is.True);
        }
        finally
        {
            foreach (var k in keys) k.Dispose();
        }
    }

    [Test]
    public async Task Shards_re_put_without_expiry_do_not_outlive_the_owners_expiry(CancellationToken cancellationToken)
    {
        var data = MeshTestData.Bytes(40_000, 901);
        var expires = DateTimeOffset.UtcNow.AddSeconds(8);
        var file = await _mesh.Nodes[1].Store.StoreAsync(new MemoryStream(data), _owner, new StoreOptions { ExpiresAt = expires }, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[1].MeshStore.FindManifestAsync(file.Cid, cancellationToken);
        var hashes = AllHashes(manifest).ToList();
        var ownerId = Sha256Hash.Compute(_owner.PublicKey.SubjectPublicKeyInfo);
        var strangerId = Sha256Hash.Compute(_stranger.PublicKey.SubjectPublicKeyInfo);

        // The attacker fetches every shard by its public hash and puts it back at its holder with no expiry: without
        // authority, and under a delegation of its own key (which may keep bytes only for itself, on its own account).
        var own = Delegate(_stranger, _attacker.Identity.Id);
        int refused = 0, ownHolds = 0;
        foreach (var hash in hashes)
        {
            var holder = HolderOf(hash);
            var bytes = (await Send(holder, new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(hash.ToArray()) } })).GetShard.Data.ToByteArray();
            if (await Refusal(holder, Put(hash, bytes)) is UnauthorizedOperationException) refused++;
            if (await Refusal(holder, Put(hash, bytes, own)) is null) ownHolds++;
            var info = holder.Shards!.GetInfo(hash)!;
            Assert.That(info.HoldOf(ownerId)!.Value.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(expires.ToUnixTimeMilliseconds())), "the owner's expiry stands");
            Assert.That(info.HoldOf(strangerId)!.Value.ExpiresAt, Is.Null);
        }

        Assert.That(_mesh.Nodes.Sum(n => n.Shards!.BytesHeldFor(strangerId)), Is.EqualTo(hashes.Count * (long)manifest.ShardSize(0)), "the attacker's holds are on its own account");
        var wait = Max(expires, DateTimeOffset.UtcNow + Grace) + TimeSpan.FromSeconds(1) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
        await PassesAsync(_mesh.Nodes);
        int held = _mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes));
        TestContext.Out.WriteLine($"re-puts without authority refused: {refused} of {hashes.Count}; under the attacker's own delegation: {ownHolds} (its own holds); shards still held after the owner's expiry and the grace: {held}");
        Assert.That(refused, Is.EqualTo(hashes.Count));
        Assert.That(held, Is.Zero, "the owner's expiry holds, and the attacker's unreferenced holds went after the grace");
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [Test]
    public async Task Shards_no_manifest_references_are_collected_after_the_grace(CancellationToken cancellationToken)
    {
        var victim = _mesh.Nodes[6];
        var strangerId = Sha256Hash.Compute(_stranger.PublicKey.SubjectPublicKeyInfo);
        var own = Delegate(_stranger, _attacker.Identity.Id);
        var hashes = new List<Sha256Hash>();
        for (int i = 0; i < 16; i++)
        {
            var junk = RandomNumberGenerator.GetBytes(64 * 1024);
            var hash = Sha256Hash.Compute(junk);
            if (await Refusal(victim, Put(hash, junk, own)) is null) hashes.Add(hash);
        }

        var started = DateTimeOffset.UtcNow;
        await victim.RunRepairPassAsync(cancellationToken);
        int withinGrace = MeshTestData.CountHeld(victim, hashes);
        var wait = started + Grace + TimeSpan.FromMilliseconds(500) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
        await victim.RunRepairPassAsync(cancellationToken);
        int held = MeshTestData.CountHeld(victim, hashes);
        TestContext.Out.WriteLine($"unreferenced shards accepted under a delegation: {hashes.Count}; held within the grace: {withinGrace}; after it: {held}");
        Assert.That(hashes, Has.Count.EqualTo(16));
        Assert.That(held, Is.Zero);
        Assert.That(victim.Shards!.BytesHeldFor(strangerId), Is.Zero);
    }

    [Test]
    public async Task A_streamed_file_placed_under_a_delegation_outlives_the_grace_once_its_manifest_is_known(CancellationToken cancellationToken)
    {
        // Four segments: placed under the owner's delegation before the manifest exists; the manifest then reaches every holder.
        var data = MeshTestData.Bytes(4 * 64 * 1024 - 100, 904);
        var file = await _mesh.Nodes[5].Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        var hashes = await MeshTestData.ShardHashesAsync(_mesh.Nodes[5], file.Cid);
        await Task.Delay(Grace + TimeSpan.FromMilliseconds(500), cancellationToken);
        await PassesAsync(_mesh.Nodes);
        Assert.That(_mesh.Nodes.Sum(n => MeshTestData.CountHeld(n, hashes)), Is.EqualTo(hashes.Count));
        Assert.That(await MeshTestData.ReadAllAsync(await _mesh.Nodes[9].Store.RetrieveAsync(file.Cid, file.ContentKey, cancellationToken), cancellationToken), Is.EqualTo(data));
    }

    /// <summary>Stores a small file of the owner's; returns its manifest record and shard <paramref name="shard"/> of segment 0.</summary>
    private async Task<(ValueRecord Record, Sha256Hash Hash)> StoreOneAsync(int seed, int via, int shard, CancellationToken cancellationToken)
    {
        var file = await _mesh.Nodes[via].Store.StoreAsync(new MemoryStream(MeshTestData.Bytes(30_000, seed)), _owner, cancellationToken: cancellationToken);
        var manifest = await _mesh.Nodes[via].MeshStore.FindManifestAsync(file.Cid, cancellationToken);
        return (FileRecords.ForManifest(manifest), manifest.ShardHash(0, shard));
    }

    [Test]
    public async Task A_delete_replayed_after_the_holder_restarts_is_refused(CancellationToken cancellationToken)
    {
        var (record, hash) = await StoreOneAsync(902, via: 2, shard: 4, cancellationToken);
        var holder = HolderOf(hash);
        int index = _mesh.Nodes.ToList().IndexOf(holder);
        var bytes = (await holder.Shards!.GetAsync(hash, cancellationToken))!;

        // The owner deletes one shard at its holder (a clean-up after a failed store does this); a wiretapper keeps the request.
        var delete = DeleteAuthorization.Create(_owner, holder.Id, [hash], DateTimeOffset.UtcNow);
        Assert.That((await Send(holder, new Request { DeleteShards = delete })).DeleteShards.Deleted, Is.EqualTo(1u));
        holder = await _mesh.RestartNodeAsync(index, cancellationToken);

        // The owner puts the shard back (with the manifest as its authority); then the captured delete is replayed.
        Assert.That(await Refusal(holder, Put(hash, bytes, record: record)), Is.Null);
        var replay = await Refusal(holder, new Request { DeleteShards = delete });
        TestContext.Out.WriteLine($"replay after restart: {(replay is null ? "accepted" : "refused: " + replay.Message)}; shard held: {holder.Shards!.Contains(hash)}");
        Assert.That(replay, Is.InstanceOf<UnauthorizedOperationException>());
        Assert.That(replay!.Message, Does.Contain("replayed"));
        Assert.That(holder.Shards!.Contains(hash), Is.True);
    }

    [Test]
    public async Task A_delete_sent_to_one_holder_is_refused_by_another(CancellationToken cancellationToken)
    {
        var (record, hash) = await StoreOneAsync(903, via: 4, shard: 2, cancellationToken);
        var first = HolderOf(hash);
        var second = _mesh.Nodes.First(n => n.Id != first.Id && !n.Shards!.Contains(hash));
        var bytes = (await first.Shards!.GetAsync(hash, cancellationToken))!;
        // The owner keeps a second copy on another node (repair does this when it spreads crowded shards).
        Assert.That(await Refusal(second, Put(hash, bytes, record: record)), Is.Null);

        var delete = DeleteAuthorization.Create(_owner, first.Id, [hash], DateTimeOffset.UtcNow);
        Assert.That((await Send(first, new Request { DeleteShards = delete })).DeleteShards.Deleted, Is.EqualTo(1u));
        var reaimed = await Refusal(second, new Request { DeleteShards = delete });
        TestContext.Out.WriteLine($"delete re-aimed at another holder: {(reaimed is null ? "accepted" : "refused: " + reaimed.Message)}; its copy held: {second.Shards!.Contains(hash)}");
        Assert.That(reaimed, Is.InstanceOf<UnauthorizedOperationException>());
        Assert.That(second.Shards!.Contains(hash), Is.True);
    }
}
