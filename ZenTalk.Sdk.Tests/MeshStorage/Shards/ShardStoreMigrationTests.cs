using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

public class ShardStoreMigrationTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "zt-migrate-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private sealed class SimulatedCrash : Exception;

    private Task<ShardStore> Open(Action<string>? step = null) =>
        ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, MigrationStep = step });

    private async Task AssertFullyMigrated(List<V1StoreFixture.Entry> entries)
    {
        using var store = await Open();
        Assert.That(store.List().Count, Is.EqualTo(entries.Count));
        foreach (var e in entries)
        {
            Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
            var info = store.GetInfo(e.Hash)!;
            Assert.That(info.StoredAt, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(e.StoredAt)));
            // Layouts 1 to 4 kept one owner and one expiry (and a CID, which layout 5 drops): that is one hold.
            Assert.That(info.Holds.Single().ExpiresAt, Is.EqualTo(e.ExpiresAt is { } x ? DateTimeOffset.FromUnixTimeSeconds(x) : (DateTimeOffset?)null));
            Assert.That(info.Holds.Single().GrantedAt, Is.EqualTo(info.StoredAt));
        }

        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("5\n"));
        // Nothing of layout 1 or 2 or of the migration is left: no mix.
        Assert.That(Directory.Exists(Path.Combine(_dir, "shards")), Is.False);
        Assert.That(Directory.EnumerateFiles(_dir, "*.shard"), Is.Empty);
        Assert.That(Directory.EnumerateFiles(_dir, "*.json"), Is.Empty);
        Assert.That(File.Exists(Path.Combine(_dir, ".migration")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(_dir, ".migration-staging")), Is.False);
    }

    [Test]
    public async Task Version_1_layout_is_migrated_with_its_metadata()
    {
        var cid = Cid.Compute("file"u8).ToString();
        var entries = V1StoreFixture.Create(_dir, 12, 500, cid, expiresAt: 4_000_000_000);
        entries.AddRange(V1StoreFixture.Create(_dir, 3, 700));
        await AssertFullyMigrated(entries);
    }

    [Test]
    public async Task Corrupt_version_1_shard_is_quarantined_not_migrated()
    {
        var entries = V1StoreFixture.Create(_dir, 4, 300);
        var bad = entries[0];
        var path = Path.Combine(_dir, bad.Hash + ".shard");
        var bytes = File.ReadAllBytes(path);
        bytes[0] ^= 1;
        File.WriteAllBytes(path, bytes);

        using var store = await Open();
        Assert.That(store.Contains(bad.Hash), Is.False);
        Assert.That(store.List().Count, Is.EqualTo(3));
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "quarantine")).Count(), Is.EqualTo(1));
    }

    [TestCase("started")]
    [TestCase("copied:1")]
    [TestCase("copied:5")]
    [TestCase("staged")]
    [TestCase("moved")]
    [TestCase("committed")]
    [TestCase("packs:started")]
    [TestCase("packs:copied:1")]
    [TestCase("packs:copied:5")]
    [TestCase("packs:staged")]
    [TestCase("packs:moved")]
    [TestCase("packs:committed")]
    public async Task Migration_interrupted_at_any_step_is_completed_on_next_open(string crashAt)
    {
        var entries = V1StoreFixture.Create(_dir, 8, 400, expiresAt: 4_000_000_000);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(step =>
        {
            if (step == crashAt)
            {
                throw new SimulatedCrash();
            }
        }));
        Assert.That(File.Exists(Path.Combine(_dir, ".migration")), Is.True, "the marker says a migration is running");
        await AssertFullyMigrated(entries);
    }

    [Test]
    public async Task Migration_interrupted_twice_still_completes()
    {
        var entries = V1StoreFixture.Create(_dir, 6, 400);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(s => { if (s == "copied:2") throw new SimulatedCrash(); }));
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(s => { if (s == "moved") throw new SimulatedCrash(); }));
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(s => { if (s == "packs:copied:3") throw new SimulatedCrash(); }));
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(s => { if (s == "packs:moved") throw new SimulatedCrash(); }));
        await AssertFullyMigrated(entries);
    }

    [Test]
    public async Task Version_2_layout_is_migrated_to_packs_with_its_metadata_and_without_its_damage()
    {
        var cid = Cid.Compute("file"u8);
        var owner = Sha256Hash.Compute("owner"u8);
        var good = V2StoreFixture.Create(_dir, 20, 3000, new ShardMetadata(cid, owner, DateTimeOffset.FromUnixTimeSeconds(4_000_000_000)));
        good.AddRange(V2StoreFixture.Create(_dir, 5, 200, default));
        var damaged = V2StoreFixture.Create(_dir, 1, 500, default)[0];
        var damagedPath = V2StoreFixture.PathOf(_dir, damaged.Hash);
        var bytes = File.ReadAllBytes(damagedPath);
        bytes[^1] ^= 1;
        File.WriteAllBytes(damagedPath, bytes);
        // An unfinished layout 2 put: never visible, never migrated.
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(damagedPath)!, ".tmp-" + Guid.NewGuid().ToString("N")), new byte[300]);

        using (var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, PackBytes = 1L << 16 }))
        {
            Assert.That(store.List().Select(i => i.Hash), Is.EquivalentTo(good.Select(g => g.Hash)));
            foreach (var e in good)
            {
                Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
                var info = store.GetInfo(e.Hash)!;
                Assert.That(info.Holds, Is.EqualTo(new[] { ShardHold.FromLegacy(e.Metadata, e.StoredAt) }));
                Assert.That(info.StoredAt, Is.EqualTo(e.StoredAt));
            }

            Assert.That(store.GetPacks().Count, Is.GreaterThan(1), "20 × 3 KB in 64 KiB packs");
            Assert.That(store.GetPacks().Take(store.GetPacks().Count - 1).All(p => p.Sealed), Is.True);
        }

        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("5\n"));
        Assert.That(Directory.Exists(Path.Combine(_dir, "shards")), Is.False);
        Assert.That(File.Exists(Path.Combine(_dir, ".migration")), Is.False);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "quarantine")).Select(Path.GetFileName), Is.EqualTo(new[] { damaged.Hash + ".v2" }));
        using var reopened = await Open();
        Assert.That(reopened.List().Count, Is.EqualTo(good.Count));
    }

    [TestCase("packs:copied:4")]
    [TestCase("packs:moved")]
    [TestCase("packs:committed")]
    public async Task Version_2_migration_interrupted_is_completed_on_next_open(string crashAt)
    {
        var entries = V2StoreFixture.Create(_dir, 10, 1000, default);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(step =>
        {
            if (step == crashAt) throw new SimulatedCrash();
        }));
        using var store = await Open();
        Assert.That(store.List().Select(i => i.Hash), Is.EquivalentTo(entries.Select(e => e.Hash)));
        foreach (var e in entries) Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("5\n"));
        Assert.That(Directory.Exists(Path.Combine(_dir, "shards")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(_dir, ".migration-staging")), Is.False);
    }

    [Test]
    public async Task Migrated_store_accepts_new_shards()
    {
        var entries = V1StoreFixture.Create(_dir, 2, 100);
        using (var store = await Open())
        {
            var data = new byte[] { 1, 2, 3 };
            await store.PutAsync(Sha256Hash.Compute(data), data, default);
        }

        using var reopened = await Open();
        Assert.That(reopened.List().Count, Is.EqualTo(3));
    }

    [Test]
    public async Task Version_3_packs_are_read_as_they_are_and_new_puts_go_to_a_version_5_pack()
    {
        var metadata = new ShardMetadata(Cid.Compute("file"u8), Sha256Hash.Compute("owner"u8), DateTimeOffset.FromUnixTimeSeconds(4_000_000_000));
        var old = V3StoreFixture.Create(_dir, 30, 3000, metadata, packBytes: 1L << 16);
        var oldPacks = old.Select(e => e.PackPath).Distinct().ToList();
        Assert.That(oldPacks.Count, Is.EqualTo(2), "30 × 3.5 KB in 64 KiB packs, the second one unsealed");
        var (hash, data) = (Sha256Hash.Compute("new"u8), "new"u8.ToArray());
        using (var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, PackBytes = 1L << 16 }))
        {
            Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("5\n"));
            Assert.That(store.List().Select(i => i.Hash), Is.EquivalentTo(old.Select(e => e.Hash)));
            foreach (var e in old)
            {
                Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
                Assert.That(store.GetInfo(e.Hash)!.Holds.Single(), Is.EqualTo(ShardHold.FromLegacy(metadata, store.GetInfo(e.Hash)!.StoredAt)));
                Assert.That(store.Locate(e.Hash)!.Value, Is.EqualTo((e.PackPath, Offset(e, old) + 136)), "not moved: read in place");
            }

            await store.PutAsync(hash, data, default);
            var newPack = store.Locate(hash)!.Value.Path;
            Assert.That(oldPacks, Does.Not.Contain(newPack), "the unsealed layout 3 pack is not appended to");
            Assert.That(File.ReadAllBytes(newPack)[4], Is.EqualTo(5), "the new pack's records are layout 5");
            Assert.That(store.GetPacks().Where(p => oldPacks.Contains(p.Path)).All(p => p.Sealed), Is.True);
        }

        using var reopened = await Open();
        Assert.That(reopened.List().Count, Is.EqualTo(old.Count + 1));
        Assert.That(await reopened.GetAsync(hash), Is.EqualTo(data));
        foreach (var e in old) Assert.That(await reopened.GetAsync(e.Hash), Is.EqualTo(e.Data));
    }

    [Test]
    public async Task Rot_in_a_version_3_record_is_found_by_its_hash_and_compaction_rewrites_the_rest_as_version_5()
    {
        var old = V3StoreFixture.Create(_dir, 30, 3000, default, packBytes: 1L << 16);
        var first = old[0].PackPath;
        var inFirst = old.Where(e => e.PackPath == first).ToList();
        var rotten = inFirst[1];
        using (var stream = new FileStream(first, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = Offset(rotten, old) + 136 + 100;
            var b = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(b ^ 0x10));
        }

        using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, PackBytes = 1L << 16 });
        Assert.That(await store.GetAsync(rotten.Hash), Is.Null);
        Assert.That(store.GetStats().QuarantinedSinceOpen, Is.EqualTo(1));
        var kept = inFirst.Take(4).Where(e => e != rotten).ToList();
        foreach (var e in inFirst.Skip(4)) Assert.That(await store.DeleteAsync(e.Hash), Is.True);
        await store.CompactAsync();
        Assert.That(File.Exists(first), Is.False, "the mostly dead layout 3 pack is gone");
        foreach (var e in kept)
        {
            var moved = store.Locate(e.Hash)!.Value.Path;
            Assert.That(File.ReadAllBytes(moved)[4], Is.EqualTo(5), "moved into a layout 5 pack");
            Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
        }
    }

    [Test]
    public async Task Version_4_store_migrates_to_5_each_record_one_hold_and_compaction_keeps_the_holds()
    {
        var owner = Sha256Hash.Compute("owner"u8);
        var metadata = new ShardMetadata(Cid.Compute("file"u8), owner, DateTimeOffset.FromUnixTimeSeconds(4_000_000_000));
        var old = V4StoreFixture.Create(_dir, 30, 3000, metadata, packBytes: 1L << 16);
        var first = old[0].PackPath;
        var inFirst = old.Where(e => e.PackPath == first).ToList();
        using (var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, PackBytes = 1L << 16 }))
        {
            Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("5\n"), "the version is all the migration writes");
            Assert.That(store.List().Select(i => i.Hash), Is.EquivalentTo(old.Select(e => e.Hash)));
            foreach (var e in old)
            {
                Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
                Assert.That(store.GetInfo(e.Hash)!.Holds, Is.EqualTo(new[] { new ShardHold(owner, metadata.ExpiresAt, e.StoredAt, default, UInt128.Zero) }));
                Assert.That(store.Locate(e.Hash)!.Value, Is.EqualTo((e.PackPath, e.Offset + 144)), "read in place");
            }

            Assert.That(store.BytesHeldFor(owner), Is.EqualTo(30 * 3000), "migrated holds are accounted to their owner");

            // The owner's delete releases its hold; compaction moves the rest into layout 5 records with the same hold.
            foreach (var e in inFirst.Skip(4)) Assert.That(await store.ReleaseAsync(e.Hash, owner), Is.True);
            await store.CompactAsync();
            Assert.That(File.Exists(first), Is.False, "the mostly dead layout 4 pack is gone");
            foreach (var e in inFirst.Take(4))
            {
                Assert.That(File.ReadAllBytes(store.Locate(e.Hash)!.Value.Path)[4], Is.EqualTo(5), "moved into a layout 5 pack");
                Assert.That(store.GetInfo(e.Hash)!.Holds.Single().Owner, Is.EqualTo(owner));
            }
        }

        using var reopened = await Open();
        var left = old.Except(inFirst.Skip(4)).ToList();
        Assert.That(reopened.List().Select(i => i.Hash), Is.EquivalentTo(left.Select(e => e.Hash)));
        foreach (var e in left)
        {
            Assert.That(await reopened.GetAsync(e.Hash), Is.EqualTo(e.Data));
            Assert.That(reopened.GetInfo(e.Hash)!.Holds.Single().ExpiresAt, Is.EqualTo(metadata.ExpiresAt));
        }
    }

    /// <summary>Where the fixture put a record in its pack: records follow each other from byte 512.</summary>
    private static long Offset(V3StoreFixture.Entry entry, List<V3StoreFixture.Entry> all) =>
        512 + all.Where(e => e.PackPath == entry.PackPath).TakeWhile(e => e != entry).Sum(e => (136L + e.Data.Length + 511) & ~511L);
}
