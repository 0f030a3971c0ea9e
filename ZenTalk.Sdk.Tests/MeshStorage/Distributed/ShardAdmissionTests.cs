using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;
using ZenTalk.Sdk.Tests.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// The owner's authority on a PUT_SHARD, through the real handler over a real shard store and file index on disk: what
/// is accepted (and as whose hold, until when), what is refused, and delete requests bound to their holder and kept
/// across a restart.
/// </summary>
public class ShardAdmissionTests
{
    private string _dir = null!;
    private FakeTimeProvider _time = null!;
    private ShardStore _store = null!;
    private FileIndex _files = null!;
    private ShardRequestHandler _handler = null!;
    private OwnerKey _owner = null!;
    private NodeId _self;
    private RpcCallContext _caller = null!;

    [SetUp]
    public async Task SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-admission-" + Guid.NewGuid().ToString("N"));
        _time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = Path.Combine(_dir, "shards"), TimeProvider = _time });
        _files = new FileIndex(Path.Combine(_dir, "files"), _store, NullLogger.Instance);
        _files.Load();
        _self = NodeId.Random();
        _handler = NewHandler();
        _owner = OwnerKey.Generate(2048);
        _caller = new RpcCallContext(NodeId.Random(), IPAddress.Parse("198.18.3.4"), 4001);
    }

    private ShardRequestHandler NewHandler() =>
        new(_store, _files, new DeleteAuthorization(_self, TimeSpan.FromMinutes(5), _time, _dir), 1 << 20, _time)
        {
            AcceptRecord = (record, ct) => _files.AcceptAsync(record, ct),
        };

    [TearDown]
    public async Task TearDown()
    {
        _handler.Dispose();
        await _files.DisposeAsync();
        _store.Dispose();
        _owner.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static (Sha256Hash Hash, byte[] Data) Shard(int size = 5000)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        return (Sha256Hash.Compute(data), data);
    }

    private static PutShardRequest Put(Sha256Hash hash, byte[] data) => new() { ShardHash = ByteString.CopyFrom(hash.ToArray()), Data = ByteString.CopyFrom(data) };

    private Task<PutShardResponse> Send(PutShardRequest put) => _handler.PutShardAsync(put, _caller, CancellationToken.None).AsTask();

    private static UInt128 Number(string address) => System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(IPAddress.Parse(address).GetAddressBytes());

    private Sha256Hash OwnerId => Sha256Hash.Compute(_owner.PublicKey.SubjectPublicKeyInfo);

    private StoreDelegation Delegate(long expires = 0, DateTimeOffset? notAfter = null, NodeId? to = null) =>
        StoreDelegations.Create(_owner, to ?? _caller.RemoteId, expires, notAfter ?? _time.GetUtcNow().AddHours(6));

    [Test]
    public async Task A_delegation_keeps_the_shard_as_the_owners_hold_with_its_expiry_on_the_senders_account()
    {
        var expires = _time.GetUtcNow().AddDays(3);
        var (hash, data) = Shard();
        var put = Put(hash, data);
        put.Delegation = Delegate(expires.ToUnixTimeMilliseconds());
        await Send(put);
        var hold = _store.GetInfo(hash)!.Holds.Single();
        Assert.That(hold, Is.EqualTo(new ShardHold(OwnerId, DateTimeOffset.FromUnixTimeMilliseconds(expires.ToUnixTimeMilliseconds()), _time.GetUtcNow(), _caller.RemoteId, AddressPrefix.Of(_caller.RemoteAddress).ToUInt128())));
        // On disk: the /24 as ::ffff:a.b.c.0, the /48 with the rest zero (formats.md §4.1).
        Assert.That(AddressPrefix.Of(_caller.RemoteAddress).ToUInt128(), Is.EqualTo(Number("::ffff:198.18.3.0")));
        Assert.That(AddressPrefix.Of(IPAddress.Parse("2001:db8:1:2::1")).ToUInt128(), Is.EqualTo(Number("2001:db8:1::")));
    }

    [Test]
    public void Puts_without_a_valid_authority_for_the_sender_are_refused_and_keep_nothing()
    {
        using var stranger = OwnerKey.Generate(2048);
        var (hash, data) = Shard();
        var cases = new List<(string Name, Action<PutShardRequest> Make)>
        {
            ("no authority", _ => { }),
            ("a delegation to another node", p => p.Delegation = Delegate(to: NodeId.Random())),
            ("a delegation re-aimed at the sender", p => { p.Delegation = Delegate(to: NodeId.Random()); p.Delegation.UploaderNodeId = ByteString.CopyFrom(_caller.RemoteId.ToByteArray()); }),
            ("a delegation's expiry moved", p => { p.Delegation = Delegate(_time.GetUtcNow().AddDays(1).ToUnixTimeMilliseconds()); p.Delegation.ExpiresUnixMs = 0; }),
            ("a delegation that ended", p => p.Delegation = Delegate(notAfter: _time.GetUtcNow().AddSeconds(-1))),
            ("a delegation that ends more than 24 h ahead", p => p.Delegation = Delegate(notAfter: _time.GetUtcNow().AddHours(25))),
            ("a delegation for a file whose expiry passed", p => p.Delegation = Delegate(_time.GetUtcNow().AddSeconds(-5).ToUnixTimeMilliseconds())),
            ("a delegation signed by another key than it names", p => { p.Delegation = Delegate(); p.Delegation.OwnerPublicKey = ByteString.CopyFrom(stranger.PublicKey.SubjectPublicKeyInfo); }),
            ("a CID this node does not hold", p => p.FileCid = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32))),
        };
        foreach (var (name, make) in cases)
        {
            var put = Put(hash, data);
            make(put);
            Assert.ThrowsAsync<UnauthorizedOperationException>(() => Send(put), name);
            Assert.That(_store.Contains(hash), Is.False, name);
        }

        var two = Put(hash, data);
        two.Delegation = Delegate();
        two.FileCid = ByteString.CopyFrom(new byte[32]);
        Assert.ThrowsAsync<ArgumentException>(() => Send(two), "two authorities");
        Assert.That(_store.GetStats().StoredBytes, Is.Zero);

        var fine = Put(hash, data);
        fine.Delegation = Delegate(notAfter: _time.GetUtcNow().AddHours(23));
        Assert.DoesNotThrowAsync(() => Send(fine));
    }

    [Test]
    public async Task A_manifest_record_or_the_CID_of_a_held_manifest_authorizes_only_the_shards_it_lists()
    {
        var (manifest, shards) = await EncodeAsync(20_000);
        var record = FileRecords.ForManifest(manifest);
        var (hash, data) = shards[3];
        var (stranger, strangerData) = Shard();

        var byCid = Put(hash, data);
        byCid.FileCid = ByteString.CopyFrom(FileRecords.KeyOf(manifest.Cid).ToByteArray());
        Assert.ThrowsAsync<UnauthorizedOperationException>(() => Send(byCid), "the node does not hold the manifest yet");
        var withRecord = Put(hash, data);
        withRecord.FileRecord = record;
        await Send(withRecord);
        Assert.That(_files.LiveManifest(manifest.Cid), Is.Not.Null, "the record was kept with the shard");
        Assert.That(_store.GetInfo(hash)!.Holds.Single().Owner, Is.EqualTo(OwnerId));

        var (next, nextData) = shards[4];
        byCid.ShardHash = ByteString.CopyFrom(next.ToArray());
        byCid.Data = ByteString.CopyFrom(nextData);
        await Send(byCid);
        Assert.That(_store.Contains(next), Is.True);

        var unlisted = Put(stranger, strangerData);
        unlisted.FileRecord = record;
        Assert.ThrowsAsync<UnauthorizedOperationException>(() => Send(unlisted));
        unlisted.FileRecord = null;
        unlisted.FileCid = byCid.FileCid;
        Assert.ThrowsAsync<UnauthorizedOperationException>(() => Send(unlisted));
        Assert.That(_store.Contains(stranger), Is.False);
    }

    [Test]
    public async Task A_delete_is_for_its_holder_only_and_its_nonce_outlives_a_restart()
    {
        var (hash, data) = Shard();
        var put = Put(hash, data);
        put.Delegation = Delegate();
        await Send(put);

        var elsewhere = DeleteAuthorization.Create(_owner, NodeId.Random(), [hash], _time.GetUtcNow());
        var e = Assert.ThrowsAsync<UnauthorizedOperationException>(() => _handler.DeleteShardsAsync(elsewhere, _caller, default).AsTask());
        Assert.That(e!.Message, Does.Contain("another node"));
        var delete = DeleteAuthorization.Create(_owner, _self, [hash], _time.GetUtcNow());
        Assert.That((await _handler.DeleteShardsAsync(delete, _caller, default)).Deleted, Is.EqualTo(1));

        // The shard comes back (its owner puts it again); the node restarts; the captured delete is replayed.
        await Send(put);
        _handler.Dispose();
        _handler = NewHandler();
        e = Assert.ThrowsAsync<UnauthorizedOperationException>(() => _handler.DeleteShardsAsync(delete, _caller, default).AsTask());
        Assert.That(e!.Message, Does.Contain("replayed"));
        Assert.That(_store.Contains(hash), Is.True);
    }

    [Test]
    public async Task The_nonce_log_cuts_a_torn_append_refuses_a_foreign_file_and_forgets_nonces_past_their_window()
    {
        var log = Path.Combine(_dir, DeleteNonceLog.FileName);
        var requests = new List<DeleteShardsRequest>();
        for (int i = 0; i < 3; i++)
        {
            var (hash, data) = Shard();
            var put = Put(hash, data);
            put.Delegation = Delegate();
            await Send(put);
            var delete = DeleteAuthorization.Create(_owner, _self, [hash], _time.GetUtcNow());
            await _handler.DeleteShardsAsync(delete, _caller, default);
            requests.Add(delete);
        }

        _handler.Dispose();
        Assert.That(new FileInfo(log).Length, Is.EqualTo(8 + (3 * DeleteNonceLog.EntrySize)));
        using (var f = new FileStream(log, FileMode.Append)) f.Write(new byte[DeleteNonceLog.EntrySize - 5]); // a torn append
        _handler = NewHandler();
        Assert.That(new FileInfo(log).Length, Is.EqualTo(8 + (3 * DeleteNonceLog.EntrySize)), "cut back to the last whole entry");
        foreach (var r in requests)
            Assert.ThrowsAsync<UnauthorizedOperationException>(() => _handler.DeleteShardsAsync(r, _caller, default).AsTask());

        // Past twice the window the nonces are forgotten (the timestamps are refused by then anyway).
        _handler.Dispose();
        _time.Advance(TimeSpan.FromMinutes(11));
        using (var reopened = new DeleteAuthorization(_self, TimeSpan.FromMinutes(5), _time, _dir))
        {
            var e = Assert.Throws<UnauthorizedOperationException>(() => reopened.Verify(requests[0]));
            Assert.That(e!.Message, Does.Contain("window"));
        }

        File.WriteAllBytes(log, "not a nonce log at all"u8.ToArray());
        Assert.Throws<MeshStorageException>(() => new DeleteAuthorization(_self, TimeSpan.FromMinutes(5), _time, _dir));
        File.Delete(log);
        _handler = NewHandler();
    }

    private async Task<(Manifest Manifest, List<(Sha256Hash Hash, byte[] Data)> Shards)> EncodeAsync(int size)
    {
        var sink = new Collecting();
        var manifest = await new FileEncoder(new FileCodecOptions { SegmentSize = 16 * 1024 })
            .EncodeAsync(new MemoryStream(RandomNumberGenerator.GetBytes(size)), ContentKey.Generate(), _owner, sink);
        return (manifest, sink.Shards);
    }

    private sealed class Collecting : IShardSink
    {
        public List<(Sha256Hash Hash, byte[] Data)> Shards { get; } = [];

        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            for (int j = 0; j < segment.Shards.Length; j++) Shards.Add((segment.Hashes[j], segment.Shards[j].ToArray()));
            return ValueTask.CompletedTask;
        }
    }
}
