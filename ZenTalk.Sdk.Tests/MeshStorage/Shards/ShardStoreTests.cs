using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

public class ShardStoreTests
{
    private string _dir = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-shards-" + Guid.NewGuid().ToString("N"));
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private Task<ShardStore> Open(long quota = long.MaxValue) =>
        ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, QuotaBytes = quota, TimeProvider = _time });

    private static (Sha256Hash Hash, byte[] Data) NewShard(int size = 1000)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        return (Sha256Hash.Compute(data), data);
    }

    [Test]
    public async Task Put_then_get_returns_the_same_bytes_and_survives_reopen()
    {
        var (hash, data) = NewShard();
        var cid = Cid.Compute("m"u8);
        var owner = Sha256Hash.Compute("owner"u8);
        var expires = _time.Now.AddDays(30);
        using (var store = await Open())
        {
            Assert.That(await store.PutAsync(hash, data, new ShardMetadata(cid, owner, expires)), Is.True);
            Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
        }

        using var reopened = await Open();
        Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        var info = reopened.GetInfo(hash)!;
        Assert.That(info.Metadata, Is.EqualTo(new ShardMetadata(cid, owner, expires)));
        Assert.That(info.StoredAt, Is.EqualTo(_time.Now));
        Assert.That(reopened.List(cid).Select(i => i.Hash), Is.EqualTo(new[] { hash }));
        Assert.That(reopened.GetStats(), Is.EqualTo(new ShardStoreStats(1, 1000, long.MaxValue, 0, 0)));
    }

    [Test]
    public async Task Empty_shard_round_trips()
    {
        using var store = await Open();
        var hash = Sha256Hash.Compute([]);
        await store.PutAsync(hash, Array.Empty<byte>(), default);
        Assert.That(await store.GetAsync(hash), Is.Empty);
    }

    [Test]
    public async Task Put_refuses_bytes_that_do_not_match_the_hash_and_stores_nothing()
    {
        using var store = await Open();
        var (hash, data) = NewShard();
        data[0] ^= 1;
        Assert.ThrowsAsync<IntegrityException>(() => store.PutAsync(hash, data, default));
        Assert.That(store.Contains(hash), Is.False);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "shards"), "*", SearchOption.AllDirectories), Is.Empty);
    }

    [Test]
    public async Task Putting_the_same_shard_twice_stores_it_once_and_keeps_the_later_expiry()
    {
        using var store = await Open();
        var (hash, data) = NewShard();
        Assert.That(await store.PutAsync(hash, data, new ShardMetadata(null, null, _time.Now.AddDays(1))), Is.True);
        Assert.That(await store.PutAsync(hash, data, new ShardMetadata(null, null, _time.Now.AddDays(9))), Is.False);
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(1000));
        using var reopened = await Open();
        Assert.That(reopened.GetInfo(hash)!.Metadata.ExpiresAt, Is.EqualTo(_time.Now.AddDays(9)));
    }

    [Test]
    public async Task Get_quarantines_a_shard_whose_bytes_rotted_on_disk()
    {
        using var store = await Open();
        var (hash, data) = NewShard();
        await store.PutAsync(hash, data, default);
        var path = Path.Combine(_dir, "shards", hash.ToString()[..2], hash.ToString());
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Position = ShardFile.HeaderSize + 10;
            fs.WriteByte((byte)(data[10] ^ 0xFF));
        }

        Assert.That(await store.GetAsync(hash), Is.Null);
        Assert.That(store.Contains(hash), Is.False);
        Assert.That(File.Exists(path), Is.False);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "quarantine")).Count(), Is.EqualTo(1));
        Assert.That(store.GetStats().QuarantinedSinceOpen, Is.EqualTo(1));
        Assert.That(store.GetStats().StoredBytes, Is.Zero);
        // A good copy can be stored again afterwards (the repair path).
        Assert.That(await store.PutAsync(hash, data, default), Is.True);
        Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
    }

    [Test]
    public async Task Open_quarantines_a_shard_with_a_damaged_header_or_truncated_body()
    {
        var (a, dataA) = NewShard();
        var (b, dataB) = NewShard();
        using (var store = await Open())
        {
            await store.PutAsync(a, dataA, default);
            await store.PutAsync(b, dataB, default);
        }

        var pathA = Path.Combine(_dir, "shards", a.ToString()[..2], a.ToString());
        var bytes = File.ReadAllBytes(pathA);
        bytes[60] ^= 1;
        File.WriteAllBytes(pathA, bytes);
        var pathB = Path.Combine(_dir, "shards", b.ToString()[..2], b.ToString());
        File.WriteAllBytes(pathB, File.ReadAllBytes(pathB)[..^1]);

        using var reopened = await Open();
        Assert.That(reopened.Contains(a), Is.False);
        Assert.That(reopened.Contains(b), Is.False);
        Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.EqualTo(2));
    }

    [Test]
    public async Task Quota_refuses_a_put_that_would_exceed_it_and_frees_space_on_delete()
    {
        using var store = await Open(quota: 2500);
        var (h1, d1) = NewShard();
        var (h2, d2) = NewShard();
        var (h3, d3) = NewShard();
        await store.PutAsync(h1, d1, default);
        await store.PutAsync(h2, d2, default);
        var ex = Assert.ThrowsAsync<QuotaExceededException>(() => store.PutAsync(h3, d3, default));
        Assert.That(ex!.Message, Does.Contain("2500"));
        Assert.That(store.Contains(h3), Is.False);
        Assert.That(await store.DeleteAsync(h1), Is.True);
        Assert.That(await store.DeleteAsync(h1), Is.False);
        Assert.That(await store.PutAsync(h3, d3, default), Is.True);
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(2000));
    }

    [Test]
    public async Task Quota_holds_under_concurrent_puts()
    {
        using var store = await Open(quota: 10_000);
        var shards = Enumerable.Range(0, 40).Select(_ => NewShard()).ToList();
        var results = await Task.WhenAll(shards.Select(async s =>
        {
            try
            {
                await store.PutAsync(s.Hash, s.Data, default);
                return true;
            }
            catch (QuotaExceededException)
            {
                return false;
            }
        }));
        Assert.That(results.Count(r => r), Is.EqualTo(10));
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(10_000));
    }

    [Test]
    public async Task Concurrent_puts_of_the_same_shard_store_it_once()
    {
        using var store = await Open();
        var (hash, data) = NewShard(50_000);
        var added = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => store.PutAsync(hash, data, default))));
        Assert.That(added.Count(a => a), Is.EqualTo(1));
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(50_000));
        Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
    }

    [Test]
    public async Task Cancelled_put_stores_nothing_and_releases_its_quota()
    {
        using var store = await Open(quota: 1000);
        var (hash, data) = NewShard();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.CatchAsync<OperationCanceledException>(() => store.PutAsync(hash, data, default, cts.Token));
        Assert.That(store.Contains(hash), Is.False);
        Assert.That(await store.PutAsync(hash, data, default), Is.True, "the quota was not leaked");
    }

    [Test]
    public async Task Garbage_collection_removes_only_expired_shards()
    {
        using var store = await Open();
        var (soon, d1) = NewShard();
        var (later, d2) = NewShard();
        var (never, d3) = NewShard();
        await store.PutAsync(soon, d1, new ShardMetadata(null, null, _time.Now.AddHours(1)));
        await store.PutAsync(later, d2, new ShardMetadata(null, null, _time.Now.AddDays(2)));
        await store.PutAsync(never, d3, default);

        Assert.That(await store.CollectExpiredAsync(), Is.Zero);
        _time.Advance(TimeSpan.FromHours(2));
        Assert.That(store.Contains(soon), Is.False, "expired shards are not served even before collection");
        Assert.That(await store.GetAsync(soon), Is.Null);
        Assert.That(await store.CollectExpiredAsync(), Is.EqualTo(1));
        Assert.That(store.Contains(later) && store.Contains(never), Is.True);
        _time.Advance(TimeSpan.FromDays(365));
        Assert.That(await store.CollectExpiredAsync(), Is.EqualTo(1));
        Assert.That(store.List().Select(i => i.Hash), Is.EqualTo(new[] { never }));
        Assert.That(store.GetStats().CollectedSinceOpen, Is.EqualTo(2));
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(1000));
    }

    [Test]
    public async Task Leftover_temp_files_of_torn_writes_are_invisible_and_removed_on_open()
    {
        var (hash, data) = NewShard();
        using (var store = await Open())
        {
            await store.PutAsync(hash, data, default);
        }

        // A torn write: a temp file with a half-written shard, as a crash before the rename leaves it.
        var torn = NewShard();
        var sub = Path.Combine(_dir, "shards", torn.Hash.ToString()[..2]);
        var temp = Path.Combine(sub, ".tmp-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(temp, torn.Data[..300]);

        using var reopened = await Open();
        Assert.That(File.Exists(temp), Is.False);
        Assert.That(reopened.Contains(torn.Hash), Is.False);
        Assert.That(reopened.List().Select(i => i.Hash), Is.EqualTo(new[] { hash }));
        Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
    }

    [Test]
    public async Task New_store_writes_its_layout_version()
    {
        using var store = await Open();
        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("2\n"));
    }

    [Test]
    public void Store_from_a_newer_version_is_refused_untouched()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "VERSION"), "3\n");
        var ex = Assert.ThrowsAsync<MeshStorageException>(() => Open());
        Assert.That(ex!.Message, Does.Contain("newer"));
        Assert.That(Directory.EnumerateFileSystemEntries(_dir).Count(), Is.EqualTo(1));
    }

    [Test]
    public void Non_empty_directory_without_version_is_refused()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "mine");
        Assert.ThrowsAsync<MeshStorageException>(() => Open());
        Assert.That(File.ReadAllText(Path.Combine(_dir, "notes.txt")), Is.EqualTo("mine"));
    }

    [Test]
    public void Garbage_version_file_is_refused()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "VERSION"), "two");
        Assert.ThrowsAsync<MeshStorageException>(() => Open());
    }
}
