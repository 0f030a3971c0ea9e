using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
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

    private Task<ShardStore> Open(long quota = long.MaxValue, long packBytes = 128L << 20) =>
        ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, QuotaBytes = quota, TimeProvider = _time, PackBytes = packBytes });

    private static void FlipByte(string path, long offset)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Position = offset;
        var b = fs.ReadByte();
        fs.Position = offset;
        fs.WriteByte((byte)(b ^ 0xFF));
    }

    private static readonly int HeaderSize = PackRecord.HeaderSizeOf(holds: 1);

    private ShardHold Hold(string? owner = null, DateTimeOffset? expires = null, NodeId sender = default, UInt128 prefix = default) =>
        new(owner is null ? default : Sha256Hash.Compute(System.Text.Encoding.UTF8.GetBytes(owner)), expires, _time.GetUtcNow(), sender, prefix);

    private static (Sha256Hash Hash, byte[] Data) NewShard(int size = 1000)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        return (Sha256Hash.Compute(data), data);
    }

    [Test]
    public async Task Put_then_get_returns_the_same_bytes_and_survives_reopen()
    {
        var (hash, data) = NewShard();
        var hold = Hold("owner", _time.GetUtcNow().AddDays(30), NodeId.Random(), AddressPrefix.Of(System.Net.IPAddress.Parse("198.18.7.9")).ToUInt128());
        using (var store = await Open())
        {
            Assert.That(await store.PutAsync(hash, data, hold), Is.True);
            Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
        }

        using var reopened = await Open();
        Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        var info = reopened.GetInfo(hash)!;
        Assert.That(info.Holds, Is.EqualTo(new[] { hold }));
        Assert.That(info.StoredAt, Is.EqualTo(_time.GetUtcNow()));
        Assert.That(reopened.List().Select(i => i.Hash), Is.EqualTo(new[] { hash }));
        Assert.That(reopened.BytesHeldFor(hold.Owner), Is.EqualTo(1000));
        Assert.That(reopened.BytesSentBy(hold.Sender), Is.EqualTo(1000));
        Assert.That(reopened.BytesSentFrom(hold.SenderPrefix), Is.EqualTo(1000));
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
        Assert.That(store.GetPacks().Select(p => p.Length), Is.All.EqualTo(PackFile.FileHeaderSize), "no record was appended");
    }

    [Test]
    public async Task Putting_the_same_shard_twice_for_one_owner_stores_it_once_and_keeps_the_later_expiry()
    {
        using var store = await Open();
        var (hash, data) = NewShard();
        Assert.That(await store.PutAsync(hash, data, Hold("a", _time.GetUtcNow().AddDays(1))), Is.True);
        Assert.That(await store.PutAsync(hash, data, Hold("a", _time.GetUtcNow().AddDays(9))), Is.False);
        Assert.That(await store.PutAsync(hash, data, Hold("a", _time.GetUtcNow().AddDays(3))), Is.False);
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(1000));
        using var reopened = await Open();
        Assert.That(reopened.GetInfo(hash)!.Holds.Single().ExpiresAt, Is.EqualTo(_time.GetUtcNow().AddDays(9)));
    }

    [Test]
    public async Task Another_owners_put_adds_its_own_hold_and_never_moves_the_first_owners_expiry()
    {
        using (var store = await Open())
        {
            var (hash, data) = NewShard();
            await store.PutAsync(hash, data, Hold("a", _time.GetUtcNow().AddHours(1)));
            Assert.That(await store.PutAsync(hash, data, Hold("b")), Is.False, "no expiry, another owner");
            var info = store.GetInfo(hash)!;
            Assert.That(info.HoldOf(Hold("a").Owner)!.Value.ExpiresAt, Is.EqualTo(_time.GetUtcNow().AddHours(1)), "a's expiry stands");
            Assert.That(info.Holds, Has.Length.EqualTo(2));
            Assert.That(store.GetStats().StoredBytes, Is.EqualTo(1000), "the disk counts the shard once");
            Assert.That(store.BytesHeldFor(Hold("a").Owner) + store.BytesHeldFor(Hold("b").Owner), Is.EqualTo(2000), "each owner's hold is accounted to it");

            // a's hold expires: the shard stays for b. b drops its hold: the shard goes.
            _time.Advance(TimeSpan.FromHours(2));
            Assert.That(await store.CollectExpiredAsync(), Is.Zero);
            Assert.That(store.GetInfo(hash)!.Holds.Select(h => h.Owner), Is.EqualTo(new[] { Hold("b").Owner }));
            Assert.That(store.BytesHeldFor(Hold("a").Owner), Is.Zero);
            Assert.That(await store.ReleaseAsync(hash, Hold("a").Owner), Is.False, "a holds nothing any more");
            Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
        }

        using (var reopened = await Open())
        {
            var hash = reopened.List().Single().Hash;
            Assert.That(reopened.GetInfo(hash)!.Holds.Single().Owner, Is.EqualTo(Hold("b").Owner));
            Assert.That(await reopened.ReleaseAsync(hash, Hold("b").Owner), Is.True);
            Assert.That(reopened.Contains(hash), Is.False);
            Assert.That(reopened.GetStats().StoredBytes, Is.Zero);
        }
    }

    [Test]
    public async Task A_shard_keeps_at_most_four_holds()
    {
        using var store = await Open();
        var (hash, data) = NewShard();
        foreach (var owner in new[] { "a", "b", "c", "d" }) await store.PutAsync(hash, data, Hold(owner));
        Assert.ThrowsAsync<QuotaExceededException>(() => store.PutAsync(hash, data, Hold("e")));
        Assert.That(await store.PutAsync(hash, data, Hold("d", _time.GetUtcNow().AddDays(1))), Is.False, "a holder may still renew");
        Assert.That(store.GetInfo(hash)!.Holds, Has.Length.EqualTo(4));
    }

    [Test]
    public async Task Owner_sender_and_prefix_limits_refuse_a_put_that_would_pass_them()
    {
        var peer = NodeId.Random();
        var prefix = AddressPrefix.Of(System.Net.IPAddress.Parse("198.18.0.1")).ToUInt128();
        using var store = await ShardStore.OpenAsync(new ShardStoreOptions
        {
            Directory = _dir, QuotaBytes = 100_000, MaxBytesPerOwner = 2500, MaxBytesPerSender = 4500, MaxBytesPerSenderPrefix = 6500, TimeProvider = _time,
        });
        async Task<bool> Put(string owner, NodeId sender)
        {
            var (hash, data) = NewShard();
            try
            {
                await store.PutAsync(hash, data, Hold(owner, null, sender, prefix));
                return true;
            }
            catch (QuotaExceededException)
            {
                return false;
            }
        }

        Assert.That(new[] { await Put("a", peer), await Put("a", peer), await Put("a", peer) }, Is.EqualTo(new[] { true, true, false }), "owner limit");
        Assert.That(new[] { await Put("b", peer), await Put("b", peer) }, Is.EqualTo(new[] { true, true }));
        Assert.That(await Put("c", peer), Is.False, "sender limit (4 shards from this peer)");
        var other = NodeId.Random();
        Assert.That(new[] { await Put("c", other), await Put("c", other) }, Is.EqualTo(new[] { true, true }));
        Assert.That(await Put("d", NodeId.Random()), Is.False, "prefix limit (6 shards from this prefix)");
        Assert.That(store.BytesSentFrom(prefix), Is.EqualTo(6000));
        Assert.That(store.GetStats().StoredBytes, Is.EqualTo(6000));
    }

    [Test]
    public async Task Holds_no_manifest_references_are_dropped_after_the_grace()
    {
        using var store = await Open();
        var (kept, d1) = NewShard();
        var (orphan, d2) = NewShard();
        var (young, d3) = NewShard();
        await store.PutAsync(kept, d1, Hold("a"));
        await store.PutAsync(orphan, d2, Hold("a"));
        await store.PutAsync(orphan, d2, Hold("b"));
        _time.Advance(TimeSpan.FromHours(2));
        await store.PutAsync(young, d3, Hold("a"));
        var a = Hold("a").Owner;
        bool Referenced(Sha256Hash hash, Sha256Hash owner) => (hash == kept && owner == a) || (hash == orphan && owner == Hold("b").Owner);

        Assert.That(await store.CollectUnreferencedAsync(Referenced, TimeSpan.FromHours(1)), Is.Zero);
        Assert.That(store.Contains(kept) && store.Contains(young), Is.True, "referenced, and within the grace");
        Assert.That(store.GetInfo(orphan)!.Holds.Select(h => h.Owner), Is.EqualTo(new[] { Hold("b").Owner }), "a's unreferenced hold went, b's stays");
        _time.Advance(TimeSpan.FromHours(2));
        Assert.That(await store.CollectUnreferencedAsync(Referenced, TimeSpan.FromHours(1)), Is.EqualTo(1));
        Assert.That(store.Contains(young), Is.False);
        Assert.That(store.BytesHeldFor(a), Is.EqualTo(1000));
    }

    [Test]
    public async Task Get_quarantines_a_shard_whose_bytes_rotted_on_disk()
    {
        var (hash, data) = NewShard();
        using (var store = await Open())
        {
            await store.PutAsync(hash, data, default);
            var (path, payload) = store.Locate(hash)!.Value;
            FlipByte(path, payload + 10);

            Assert.That(await store.GetAsync(hash), Is.Null);
            Assert.That(store.Contains(hash), Is.False);
            Assert.That(store.Locate(hash), Is.Null);
            Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "quarantine")).Count(), Is.EqualTo(1));
            Assert.That(store.GetStats().QuarantinedSinceOpen, Is.EqualTo(1));
            Assert.That(store.GetStats().StoredBytes, Is.Zero);
        }

        using (var reopened = await Open())
        {
            Assert.That(reopened.Contains(hash), Is.False, "the rotten record stays dead across a reopen");
            // A good copy can be stored again afterwards (the repair path).
            Assert.That(await reopened.PutAsync(hash, data, default), Is.True);
            Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        }

        using var again = await Open();
        Assert.That(await again.GetAsync(hash), Is.EqualTo(data));
        Assert.That(again.GetStats().ShardCount, Is.EqualTo(1));
    }

    [Test]
    public async Task Open_skips_damaged_records_of_sealed_packs_and_keeps_every_other_record()
    {
        // 1000-byte shards take 1536 bytes each: a 64 KiB pack holds 42, so 100 of them fill two sealed packs.
        var shards = Enumerable.Range(0, 100).Select(_ => NewShard()).ToList();
        (string Path, long Payload) damagedHeader, cutShort;
        Sha256Hash headerVictim, cutVictim;
        using (var store = await Open(packBytes: 1 << 16))
        {
            foreach (var (hash, data) in shards) await store.PutAsync(hash, data, default);
            var packs = store.GetPacks();
            Assert.That(packs.Count, Is.EqualTo(3));
            headerVictim = shards[5].Hash;
            damagedHeader = store.Locate(headerVictim)!.Value;
            // The last record of the first pack: the pack is then cut inside it.
            cutVictim = shards.Select(s => s.Hash).Last(h => store.Locate(h)!.Value.Path == packs[0].Path);
            cutShort = store.Locate(cutVictim)!.Value;
        }

        FlipByte(damagedHeader.Path, damagedHeader.Payload - HeaderSize + 60); // inside the checksummed header
        using (var fs = new FileStream(cutShort.Path, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.SetLength(cutShort.Payload + 100);
        }

        using var reopened = await Open(packBytes: 1 << 16);
        Assert.That(reopened.Contains(headerVictim), Is.False);
        Assert.That(reopened.Contains(cutVictim), Is.False);
        Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.EqualTo(2));
        foreach (var (hash, data) in shards.Where(s => s.Hash != headerVictim && s.Hash != cutVictim))
        {
            Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data), "records after a damaged one are found again");
        }
    }

    [Test]
    public async Task A_record_header_hidden_inside_a_shard_is_never_taken_for_a_record()
    {
        // A peer sends a shard whose bytes carry a well-formed record (header + payload that hashes right) at a
        // 512-byte boundary of the pack. When the real header in front of it is damaged, the reader steps through
        // the shard's bytes: without the pack's secret salt the hidden header's checksum cannot be right.
        var inner = RandomNumberGenerator.GetBytes(700);
        var innerInfo = new ShardInfo(Sha256Hash.Compute(inner), inner.Length, _time.GetUtcNow(), [Hold("x")]);
        var innerHeader = new byte[HeaderSize];
        PackRecord.WriteHeader(innerHeader, new byte[PackFile.SaltSize], innerInfo, Crc32C.Compute(inner));
        var carrier = new byte[4096];
        RandomNumberGenerator.Fill(carrier);
        var at = 512 - HeaderSize; // payload offset 336 = pack offset 1024 for the first record at 512
        innerHeader.CopyTo(carrier, at);
        inner.CopyTo(carrier, at + HeaderSize);
        var carrierHash = Sha256Hash.Compute(carrier);
        var (other, otherData) = NewShard();
        using (var store = await Open(packBytes: 1 << 16))
        {
            await store.PutAsync(carrierHash, carrier, default);
            await store.PutAsync(other, otherData, default);
            for (var i = 0; i < 60; i++)
            {
                var (h, d) = NewShard();
                await store.PutAsync(h, d, default);
            }

            Assert.That(store.GetPacks()[0].Sealed, Is.True);
            var (path, payload) = store.Locate(carrierHash)!.Value;
            Assert.That(payload + at, Is.EqualTo(1024));
            FlipByte(path, payload - HeaderSize + 20);
        }

        using var reopened = await Open(packBytes: 1 << 16);
        Assert.That(reopened.Contains(carrierHash), Is.False);
        Assert.That(reopened.Contains(innerInfo.Hash), Is.False, "the hidden record was not accepted");
        Assert.That(await reopened.GetAsync(other), Is.EqualTo(otherData));
    }

    [Test]
    public async Task Delete_is_durable_and_compaction_removes_a_mostly_dead_pack()
    {
        var shards = Enumerable.Range(0, 100).Select(_ => NewShard()).ToList();
        using (var store = await Open(packBytes: 1 << 16))
        {
            foreach (var (hash, data) in shards) await store.PutAsync(hash, data, default);
            var first = store.GetPacks()[0].Path;
            var inFirst = shards.Where(s => store.Locate(s.Hash)!.Value.Path == first).ToList();
            foreach (var (hash, _) in inFirst.Skip(5)) Assert.That(await store.DeleteAsync(hash), Is.True);
            await store.CompactAsync();
            Assert.That(File.Exists(first), Is.False, "the mostly dead pack is gone");
            Assert.That(store.GetPacks().Select(p => p.Path), Does.Not.Contain(first));
            foreach (var (hash, data) in inFirst.Take(5)) Assert.That(await store.GetAsync(hash), Is.EqualTo(data), "its live records moved");
            shards.RemoveAll(s => inFirst.Skip(5).Contains(s));
        }

        using var reopened = await Open(packBytes: 1 << 16);
        Assert.That(reopened.List().Select(i => i.Hash), Is.EquivalentTo(shards.Select(s => s.Hash)), "deleted shards stay deleted; moved ones stay");
        foreach (var (hash, data) in shards) Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        Assert.That(reopened.GetStats().StoredBytes, Is.EqualTo(shards.Count * 1000L));
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
        await store.PutAsync(soon, d1, Hold("a", _time.GetUtcNow().AddHours(1)));
        await store.PutAsync(later, d2, Hold("a", _time.GetUtcNow().AddDays(2)));
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
    public async Task Concurrent_puts_deletes_reads_and_compactions_keep_exactly_the_live_shards()
    {
        // Small packs so that rotation, sealing and compaction happen all the time. Each worker owns its shards, so
        // the model of what must be live is exact; compaction runs beside them in a loop.
        var live = new System.Collections.Concurrent.ConcurrentDictionary<Sha256Hash, byte[]>();
        using (var store = await Open(packBytes: 1 << 16))
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var compactions = 0;
            var compactor = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    compactions += await store.CompactAsync();
                    await Task.Yield();
                }
            });
            var workers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                var mine = new List<(Sha256Hash Hash, byte[] Data)>();
                var operations = 0;
                while (!stop.IsCancellationRequested || operations < 200)
                {
                    operations++;
                    var roll = random.Next(10);
                    if (roll < 5 || mine.Count == 0)
                    {
                        var shard = NewShard(random.Next(1, 5000));
                        Assert.That(await store.PutAsync(shard.Hash, shard.Data, Hold("a", _time.GetUtcNow().AddDays(random.Next(1, 9)))), Is.True);
                        mine.Add(shard);
                        live[shard.Hash] = shard.Data;
                    }
                    else if (roll < 8)
                    {
                        var (hash, data) = mine[random.Next(mine.Count)];
                        Assert.That(await store.GetAsync(hash), Is.EqualTo(data));
                    }
                    else
                    {
                        var victim = random.Next(mine.Count);
                        var (hash, _) = mine[victim];
                        mine.RemoveAt(victim);
                        live.TryRemove(hash, out _);
                        Assert.That(await store.DeleteAsync(hash), Is.True);
                        Assert.That(await store.GetAsync(hash), Is.Null);
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers);
            await compactor;
            Assert.That(compactions, Is.GreaterThan(0), "the test must exercise compaction");
            Assert.That(store.GetStats().StoredBytes, Is.EqualTo(live.Values.Sum(d => (long)d.Length)));
            Assert.That(store.GetStats().QuarantinedSinceOpen, Is.Zero);
        }

        using var reopened = await Open(packBytes: 1 << 16);
        Assert.That(reopened.List().Select(i => i.Hash), Is.EquivalentTo(live.Keys));
        foreach (var (hash, data) in live) Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.Zero);
        Assert.That(reopened.DiscardedAtOpen, Is.Zero);
    }

    [Test]
    public async Task Unfinished_writes_at_the_end_of_the_active_pack_are_invisible_and_cut_off_on_open()
    {
        var (hash, data) = NewShard();
        var (torn, tornData) = NewShard();
        string path;
        long end;
        using (var store = await Open())
        {
            await store.PutAsync(hash, data, default);
            await store.PutAsync(torn, tornData, default);
            (path, var payload) = store.Locate(torn)!.Value;
            end = store.GetPacks()[^1].Length;
            // The second put's bytes never reached the disk whole (a crash between write and flush): zeros.
            using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            fs.Position = payload + 100;
            fs.Write(new byte[200]);
            // And a third put that only got half its header out.
            fs.Position = end;
            fs.Write(RandomNumberGenerator.GetBytes(90));
        }

        using (var reopened = await Open())
        {
            Assert.That(reopened.Contains(torn), Is.False);
            Assert.That(reopened.List().Select(i => i.Hash), Is.EqualTo(new[] { hash }));
            Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
            Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.Zero, "unfinished puts are not damage");
            Assert.That(reopened.DiscardedAtOpen, Is.EqualTo(2));
            Assert.That(new FileInfo(path).Length, Is.EqualTo(end), "the half header is cut off");
            var (next, nextData) = NewShard();
            await reopened.PutAsync(next, nextData, default);
        }

        using var again = await Open();
        Assert.That(again.List().Count, Is.EqualTo(2));
        Assert.That(again.DiscardedAtOpen, Is.Zero);
    }

    [Test]
    public async Task Zeros_written_ahead_of_the_appends_are_overwritten_and_cut_off_silently_on_open()
    {
        var (first, firstData) = NewShard(30_000);
        var (second, secondData) = NewShard(30_000);
        string path;
        long end;
        using (var store = await Open())
        {
            await store.PutAsync(first, firstData, default);
            (path, var length, _, _) = store.GetPacks()[^1];
            var prepared = new FileInfo(path).Length;
            Assert.That(prepared, Is.GreaterThanOrEqualTo(length + (1 << 20)), "1 MiB of zeros is written ahead of the last record");
            await store.PutAsync(second, secondData, default);
            end = store.GetPacks()[^1].Length;
            Assert.That(end, Is.GreaterThan(length));
            Assert.That(new FileInfo(path).Length, Is.EqualTo(prepared), "the second put overwrote zeros: the file did not grow");
            Assert.That(await store.GetAsync(second), Is.EqualTo(secondData));
        }

        // What a crash leaves too (a clean close does not trim): the records, then zeros.
        using (var reopened = await Open())
        {
            Assert.That(reopened.DiscardedAtOpen, Is.Zero, "zeros are not unfinished writes");
            Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.Zero, "zeros are not damage");
            Assert.That(new FileInfo(path).Length, Is.EqualTo(end), "the pack ends at its last record again");
            Assert.That(await reopened.GetAsync(first), Is.EqualTo(firstData));
            Assert.That(await reopened.GetAsync(second), Is.EqualTo(secondData));
            var (third, thirdData) = NewShard(30_000);
            await reopened.PutAsync(third, thirdData, default);
            Assert.That(await reopened.GetAsync(third), Is.EqualTo(thirdData));
        }

        using var again = await Open();
        Assert.That(again.List().Count, Is.EqualTo(3));
        Assert.That(again.DiscardedAtOpen, Is.Zero);
    }

    [Test]
    public async Task Zeros_never_reach_past_the_pack_size_and_a_sealed_pack_ends_at_its_last_record()
    {
        const long packBytes = 1 << 16;
        var shards = Enumerable.Range(0, 12).Select(_ => NewShard(10_000)).ToList();
        using (var store = await Open(packBytes: packBytes))
        {
            foreach (var (hash, data) in shards) await store.PutAsync(hash, data, default);
            var packs = store.GetPacks();
            Assert.That(packs, Has.Count.GreaterThan(1), "the test must rotate packs");
            foreach (var pack in packs)
            {
                Assert.That(new FileInfo(pack.Path).Length, Is.LessThanOrEqualTo(packBytes));
                if (pack.Sealed) Assert.That(new FileInfo(pack.Path).Length, Is.EqualTo(pack.Length), "sealing cuts off the zeros");
            }
        }

        using var reopened = await Open(packBytes: packBytes);
        Assert.That(reopened.DiscardedAtOpen, Is.Zero);
        Assert.That(reopened.GetStats().QuarantinedSinceOpen, Is.Zero);
        foreach (var (hash, data) in shards) Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
    }

    [Test]
    public async Task New_store_writes_its_layout_version()
    {
        using var store = await Open();
        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("1\n"));
    }

    [Test]
    public void Store_from_a_newer_version_is_refused_untouched()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "VERSION"), $"{ShardStoreLayout.CurrentVersion + 1}\n");
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
