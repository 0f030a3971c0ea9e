using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>
/// The layout upgrade machinery, on a synthetic layout 0 older than any the store ships a step for: the step is the
/// test's own (<see cref="Layout0"/>); what is under test is what every real upgrade will go through — the marker,
/// the staged packs, the commit by the rewrite of VERSION, the cleanup, and a crash at any point between them.
/// </summary>
public class ShardStoreUpgradeTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "zt-upgrade-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private sealed class SimulatedCrash : Exception;

    private static readonly Sha256Hash Owner = Sha256Hash.Compute("owner"u8);

    private Task<ShardStore> Open(Action<string>? step = null, long packBytes = 1L << 16) =>
        ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir, MigrationStep = step, PackBytes = packBytes, Upgrades = [Layout0.Step] });

    private static Action<string> CrashAt(string point) => step =>
    {
        if (step == point) throw new SimulatedCrash();
    };

    private async Task AssertFullyUpgraded(List<Layout0.Entry> entries)
    {
        using (var store = await Open())
        {
            Assert.That(store.List().Select(i => i.Hash), Is.EquivalentTo(entries.Select(e => e.Hash)));
            foreach (var e in entries)
            {
                Assert.That(await store.GetAsync(e.Hash), Is.EqualTo(e.Data));
                var info = store.GetInfo(e.Hash)!;
                Assert.That(info.StoredAt, Is.EqualTo(e.StoredAt));
                Assert.That(info.Holds, Is.EqualTo(new[] { new ShardHold(Owner, e.ExpiresAt, e.StoredAt, default, UInt128.Zero) }));
            }

            Assert.That(store.BytesHeldFor(Owner), Is.EqualTo(entries.Sum(e => (long)e.Data.Length)), "carried holds are accounted to their owner");
        }

        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo("1\n"));
        // Nothing of layout 0 or of the upgrade is left: no mix.
        Assert.That(Directory.EnumerateFiles(_dir, "*.shard"), Is.Empty);
        Assert.That(File.Exists(Path.Combine(_dir, ".migration")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(_dir, ".migration-staging")), Is.False);
        Assert.That(Directory.EnumerateFiles(_dir, ".tmp-*"), Is.Empty);
    }

    [Test]
    public async Task Older_layout_is_upgraded_into_sealed_packs_with_its_holds_and_without_its_damage()
    {
        var entries = Layout0.Create(_dir, 20, 3000);
        var damaged = Layout0.Create(_dir, 1, 500, first: 100)[0];
        var damagedPath = Layout0.PathOf(_dir, damaged.Hash);
        var bytes = File.ReadAllBytes(damagedPath);
        bytes[^1] ^= 1;
        File.WriteAllBytes(damagedPath, bytes);

        using (var store = await Open())
        {
            var packs = store.GetPacks();
            Assert.That(packs.Count, Is.GreaterThan(2), "20 × 3 KB in 64 KiB packs, and a new active pack");
            Assert.That(packs.Take(packs.Count - 1).All(p => p.Sealed), Is.True, "every staged pack is sealed");
            Assert.That(store.GetInfo(damaged.Hash), Is.Null);
        }

        await AssertFullyUpgraded(entries);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_dir, "quarantine")).Select(Path.GetFileName), Is.EqualTo(new[] { damaged.Hash + ".v0" }));
    }

    [TestCase("started")]
    [TestCase("copied:1")]
    [TestCase("copied:5")]
    [TestCase("staged")]
    [TestCase("moved")]
    [TestCase("committed")]
    public async Task Upgrade_interrupted_at_any_point_is_completed_on_next_open(string crashAt)
    {
        var entries = Layout0.Create(_dir, 8, 4000);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(CrashAt(crashAt), packBytes: 1L << 16));
        Assert.That(File.Exists(Path.Combine(_dir, ".migration")), Is.True, "the marker says an upgrade is running");
        var committed = crashAt == "committed";
        Assert.That(File.ReadAllText(Path.Combine(_dir, "VERSION")), Is.EqualTo(committed ? "1\n" : "0\n"));
        if (!committed)
        {
            // Before the commit the old layout is authoritative and untouched.
            foreach (var e in entries) Assert.That(File.Exists(Layout0.PathOf(_dir, e.Hash)), Is.True);
        }

        await AssertFullyUpgraded(entries);
    }

    [Test]
    public async Task Upgrade_interrupted_three_times_still_completes()
    {
        var entries = Layout0.Create(_dir, 6, 400);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(CrashAt("copied:2")));
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(CrashAt("moved")));
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(CrashAt("committed")));
        await AssertFullyUpgraded(entries);
    }

    [Test]
    public async Task Upgraded_store_accepts_new_shards()
    {
        var entries = Layout0.Create(_dir, 2, 100);
        var data = new byte[] { 1, 2, 3 };
        using (var store = await Open())
        {
            Assert.That(await store.PutAsync(Sha256Hash.Compute(data), data, default), Is.True);
        }

        using var reopened = await Open();
        Assert.That(reopened.List().Count, Is.EqualTo(entries.Count + 1));
        Assert.That(await reopened.GetAsync(Sha256Hash.Compute(data)), Is.EqualTo(data));
    }

    [Test]
    public void Older_layout_without_an_upgrade_step_is_refused_untouched()
    {
        var entries = Layout0.Create(_dir, 3, 100);
        var before = Directory.EnumerateFileSystemEntries(_dir).Order().ToList();
        var ex = Assert.ThrowsAsync<MeshStorageException>(() => ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir }));
        Assert.That(ex!.Message, Does.Contain("layout version 0").And.Contain("cannot upgrade"));
        Assert.That(Directory.EnumerateFileSystemEntries(_dir).Order(), Is.EqualTo(before));
        foreach (var e in entries) Assert.That(File.ReadAllBytes(Layout0.PathOf(_dir, e.Hash))[Layout0.HeaderSize..], Is.EqualTo(e.Data));
    }

    [Test]
    public void Interrupted_upgrade_this_build_does_not_know_is_refused()
    {
        Layout0.Create(_dir, 3, 100);
        Assert.ThrowsAsync<SimulatedCrash>(() => Open(CrashAt("moved")));
        var ex = Assert.ThrowsAsync<MeshStorageException>(() => ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir }));
        Assert.That(ex!.Message, Does.Contain("upgrade this version does not know"));
    }

    /// <summary>
    /// A synthetic layout 0: <c>VERSION</c> "0\n" and one file per shard in the root, <c>&lt;64 hex&gt;.shard</c>,
    /// holding the owner key id (32 bytes), the expiry (8, Unix ms LE, 0 = never) and the shard bytes; stored at =
    /// the file's modification time. <see cref="Step"/> upgrades it to layout 1.
    /// </summary>
    private static class Layout0
    {
        public const int HeaderSize = 40;

        public sealed record Entry(Sha256Hash Hash, byte[] Data, DateTimeOffset? ExpiresAt, DateTimeOffset StoredAt);

        public static string PathOf(string directory, Sha256Hash hash) => Path.Combine(directory, hash + ".shard");

        public static List<Entry> Create(string directory, int count, int size, int first = 0)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "VERSION"), "0\n");
            var entries = new List<Entry>();
            for (var i = first; i < first + count; i++)
            {
                var data = RandomNumberGenerator.GetBytes(size + i);
                var hash = Sha256Hash.Compute(data);
                DateTimeOffset? expires = i % 2 == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(4_000_000_000_000 + i);
                var storedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000 + (i * 1000));
                var file = new byte[HeaderSize + data.Length];
                Owner.CopyTo(file);
                BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(32), expires?.ToUnixTimeMilliseconds() ?? 0);
                data.CopyTo(file, HeaderSize);
                File.WriteAllBytes(PathOf(directory, hash), file);
                File.SetLastWriteTimeUtc(PathOf(directory, hash), storedAt.UtcDateTime);
                entries.Add(new Entry(hash, data, expires, storedAt));
            }

            return entries;
        }

        public static readonly ShardStoreUpgrade Step = new()
        {
            From = 0,
            Tree = ShardStoreLayout.PacksDirectory,
            Stage = context =>
            {
                var carried = 0;
                foreach (var file in Directory.EnumerateFiles(context.Root, "*.shard").Order())
                {
                    var bytes = File.ReadAllBytes(file);
                    var name = Path.GetFileNameWithoutExtension(file);
                    if (!Sha256Hash.TryParseHex(name, out var hash) || bytes.Length < HeaderSize || !hash.Matches(bytes.AsSpan(HeaderSize)))
                    {
                        context.Quarantine(file, name + ".v0");
                        continue;
                    }

                    var expiresMs = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32));
                    var storedAt = new DateTimeOffset(File.GetLastWriteTimeUtc(file), TimeSpan.Zero);
                    var hold = new ShardHold(new Sha256Hash(bytes.AsSpan(0, 32)),
                        expiresMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(expiresMs), storedAt, default, UInt128.Zero);
                    context.AddShard(new ShardInfo(hash, bytes.Length - HeaderSize, storedAt, [hold]), bytes.AsSpan(HeaderSize));
                    carried++;
                }

                return carried;
            },
            Cleanup = root =>
            {
                foreach (var file in Directory.EnumerateFiles(root, "*.shard")) File.Delete(file);
            },
        };
    }
}
