using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

public class FileIndexTests
{
    internal static readonly Lazy<OwnerKey> Owner = new(() => OwnerKey.Generate(2048));
    internal static readonly Lazy<OwnerKey> Stranger = new(() => OwnerKey.Generate(2048));
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "zt-files-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private string LogPath => Path.Combine(_dir, FileRecordLog.FileName);

    private FileIndex Open() => new(_dir, shards: null, NullLogger.Instance);

    private FileIndex Reopen(out List<ValueRecord> loaded)
    {
        var index = Open();
        loaded = index.Load();
        return index;
    }

    /// <summary>A signed manifest of random content; <paramref name="segments"/> sets its size (480 bytes of hashes each).</summary>
    internal static async Task<Manifest> NewManifest(int segments = 1, DateTimeOffset? expires = null)
    {
        var content = new byte[segments * Manifest.MinSegmentSize - 1];
        Random.Shared.NextBytes(content);
        var encoder = new FileEncoder(new FileCodecOptions { SegmentSize = Manifest.MinSegmentSize, ExpiresAt = expires });
        return await encoder.EncodeAsync(new MemoryStream(content), ContentKey.Generate(), Owner.Value, new DiscardingSink());
    }

    /// <summary>Opens the index, accepts <paramref name="records"/> one after the other, and closes it.</summary>
    private async Task Accept(params ValueRecord[] records)
    {
        await using var index = Reopen(out _);
        foreach (var record in records) await index.AcceptAsync(record, CancellationToken.None);
    }

    private static ValueRecord Tombstone(Manifest manifest) => FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow);

    /// <summary>A tombstone of the first format, as earlier versions logged it: no manifest inside, no record expiry.</summary>
    private static ValueRecord FirstFormatTombstone(Manifest manifest, OwnerKey signer)
    {
        var record = FileRecords.ForTombstone(manifest, signer, DateTimeOffset.UtcNow);
        var tombstone = ZenTalk.MeshStorage.Distributed.Proto.Tombstone.Parser.ParseFrom(record.Value);
        tombstone.Manifest = ByteString.Empty;
        record.Value = tombstone.ToByteString();
        record.ExpiresUnixMs = 0;
        return record;
    }

    /// <summary>Writes a record log holding exactly <paramref name="records"/>, in order, as an earlier version would have.</summary>
    private async Task WriteLog(params ValueRecord[] records)
    {
        Directory.CreateDirectory(_dir);
        var log = FileRecordLog.Open(_dir, NullLogger.Instance, () => records.Length, () => [], (_, _) => { });
        log.Start();
        foreach (var r in records)
            await log.Append(FileRecords.IsTombstone(r) ? FileRecordLog.Kind.Tombstone : FileRecordLog.Kind.Manifest, r.ToByteArray());
        await log.DisposeAsync();
    }

    private static long EntrySize(ValueRecord record) => FileRecordLog.EntryOverhead + record.CalculateSize();

    private static HashSet<Cid> Cids(FileIndex index) => index.Files.Select(f => f.Key).ToHashSet();

    [Test]
    public async Task Records_accepted_concurrently_are_all_there_after_reopen()
    {
        var manifests = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => NewManifest()));
        await using (var index = Reopen(out var loaded))
        {
            Assert.That(loaded, Is.Empty);
            // Appends made while a flush runs share the next one; each caller still waits for its own record.
            await Task.WhenAll(manifests.Select(m => index.AcceptAsync(FileRecords.ForManifest(m), CancellationToken.None)));
            Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(FileRecordLog.HeaderSize + manifests.Sum(m => EntrySize(FileRecords.ForManifest(m)))),
                "every accepted record is on disk when AcceptAsync returns");
        }

        await using var reopened = Reopen(out var records);
        Assert.That(Cids(reopened), Is.EquivalentTo(manifests.Select(m => m.Cid)));
        Assert.That(records.Select(r => r.ToByteString()), Is.EquivalentTo(manifests.Select(m => FileRecords.ForManifest(m).ToByteString())));
        Assert.That(reopened.Files.All(f => f.Value.Manifest is not null && !f.Value.Deleted), Is.True);
    }

    [Test]
    public async Task A_record_accepted_twice_is_written_once()
    {
        var manifest = await NewManifest();
        await using var index = Reopen(out _);
        await index.AcceptAsync(FileRecords.ForManifest(manifest), CancellationToken.None);
        long once = new FileInfo(LogPath).Length;
        await index.AcceptAsync(FileRecords.ForManifest(manifest), CancellationToken.None);
        Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(once));
    }

    [Test]
    public async Task A_log_cut_mid_entry_keeps_the_records_before_the_cut_and_takes_new_appends()
    {
        var (a, b, c) = (await NewManifest(), await NewManifest(), await NewManifest());
        await Accept(FileRecords.ForManifest(a), FileRecords.ForManifest(b));

        long endOfA = FileRecordLog.HeaderSize + EntrySize(FileRecords.ForManifest(a));
        await using (var log = new FileStream(LogPath, FileMode.Open)) log.SetLength(endOfA + 100); // a crash mid-append of b

        await using (var index = Reopen(out var loaded))
        {
            Assert.That(Cids(index), Is.EquivalentTo(new[] { a.Cid }));
            Assert.That(loaded, Has.Count.EqualTo(1));
            Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(endOfA), "the torn tail is cut off");
            await index.AcceptAsync(FileRecords.ForManifest(c), CancellationToken.None);
        }

        await using var again = Reopen(out _);
        Assert.That(Cids(again), Is.EquivalentTo(new[] { a.Cid, c.Cid }), "a record appended after the cut is read back");
    }

    [Test]
    public async Task A_last_entry_with_a_bad_checksum_is_dropped_and_the_rest_kept()
    {
        var (a, b) = (await NewManifest(), await NewManifest());
        await Accept(FileRecords.ForManifest(a), FileRecords.ForManifest(b));

        var bytes = await File.ReadAllBytesAsync(LogPath);
        bytes[^1] ^= 0x40;
        await File.WriteAllBytesAsync(LogPath, bytes);

        await using var reopened = Reopen(out var loaded);
        Assert.That(Cids(reopened), Is.EquivalentTo(new[] { a.Cid }));
        Assert.That(loaded, Has.Count.EqualTo(1));
        Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(FileRecordLog.HeaderSize + EntrySize(FileRecords.ForManifest(a))));
    }

    [Test]
    public async Task A_forgotten_file_stays_forgotten_after_reopen()
    {
        var (kept, forgotten) = (await NewManifest(), await NewManifest());
        await using (var index = Reopen(out _))
        {
            await index.AcceptAsync(FileRecords.ForManifest(kept), CancellationToken.None);
            await index.AcceptAsync(FileRecords.ForManifest(forgotten), CancellationToken.None);
            index.Forget(forgotten.Cid);
            Assert.That(Cids(index), Is.EquivalentTo(new[] { kept.Cid }));
        }

        await using (var index = Reopen(out var loaded))
        {
            Assert.That(Cids(index), Is.EquivalentTo(new[] { kept.Cid }));
            Assert.That(loaded, Has.Count.EqualTo(1));
            // Accepted again after being forgotten: back, and it stays back.
            await index.AcceptAsync(FileRecords.ForManifest(forgotten), CancellationToken.None);
        }

        await using var again = Reopen(out _);
        Assert.That(Cids(again), Is.EquivalentTo(new[] { kept.Cid, forgotten.Cid }));
    }

    [Test]
    public async Task Accepts_racing_forgets_reopen_to_the_state_they_left_in_memory()
    {
        var manifests = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => NewManifest()));
        HashSet<Cid> before;
        await using (var index = Reopen(out _))
        {
            await Parallel.ForAsync(0, 600, async (i, ct) =>
            {
                var m = manifests[i % manifests.Length];
                if (i / manifests.Length % 3 == 1) index.Forget(m.Cid);
                else await index.AcceptAsync(FileRecords.ForManifest(m), ct);
            });
            before = Cids(index);
        }

        await using var reopened = Reopen(out _);
        Assert.That(Cids(reopened), Is.EquivalentTo(before));
    }

    [Test]
    public async Task Accepting_before_loading_is_refused()
    {
        var manifest = await NewManifest();
        await using var index = Open();
        Assert.That(() => index.AcceptAsync(FileRecords.ForManifest(manifest), CancellationToken.None), Throws.InvalidOperationException);
    }

    [Test]
    public async Task A_tombstone_after_its_manifest_survives_reopen_and_still_marks_the_shards_deleted()
    {
        var manifest = await NewManifest();
        var tombstone = Tombstone(manifest);
        await Accept(FileRecords.ForManifest(manifest), tombstone);

        await using var reopened = Reopen(out var loaded);
        var entry = reopened.Files.Single().Value;
        Assert.That(entry.Deleted, Is.True);
        Assert.That(entry.Manifest!.Cid, Is.EqualTo(manifest.Cid));
        Assert.That(reopened.IsDeletedShard(manifest.ShardHash(0, 0)), Is.True);
        Assert.That(entry.ManifestRecord, Is.Null, "the tombstone carries the manifest and replaces its record");
        Assert.That(loaded.Select(r => r.ToByteString()), Is.EqualTo(new[] { tombstone.ToByteString() }));
    }

    [Test]
    public async Task A_tombstone_before_its_manifest_marks_the_shards_deleted_and_the_manifest_changes_nothing()
    {
        var manifest = await NewManifest();
        var tombstone = Tombstone(manifest);
        await using (var index = Reopen(out _))
        {
            await index.AcceptAsync(tombstone, CancellationToken.None);
            Assert.That(index.IsDeletedShard(manifest.ShardHash(0, 3)), Is.True, "the tombstone alone lists the shards to refuse");
            long size = new FileInfo(LogPath).Length;
            await index.AcceptAsync(FileRecords.ForManifest(manifest), CancellationToken.None);
            Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(size), "the manifest of a deleted file appends nothing");
            Assert.That(index.Files.Single().Value.Deleted, Is.True);
        }

        await using var reopened = Reopen(out var loaded);
        Assert.That(reopened.Files.Single().Value.Deleted, Is.True);
        Assert.That(loaded.Select(r => r.ToByteString()), Is.EqualTo(new[] { tombstone.ToByteString() }));
    }

    [Test]
    public async Task Of_two_tombstones_of_one_file_the_same_one_stays_whichever_came_first()
    {
        var manifest = await NewManifest();
        var earlier = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow.AddMinutes(-1));
        var later = FileRecords.ForTombstone(manifest, Owner.Value, DateTimeOffset.UtcNow);
        foreach (var order in new[] { new[] { earlier, later }, new[] { later, earlier } })
        {
            await Accept(order);
            await using (var index = Reopen(out var loaded))
            {
                Assert.That(index.Files.Single().Value.TombstoneRecord, Is.EqualTo(earlier));
                Assert.That(loaded, Is.EqualTo(new[] { earlier }));
            }

            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public async Task First_format_tombstones_in_an_old_log_are_completed_with_their_manifest_when_its_owner_signed_them()
    {
        var manifest = await NewManifest();
        var record = FileRecords.ForManifest(manifest);
        var owners = FirstFormatTombstone(manifest, Owner.Value);
        var strangers = FirstFormatTombstone(manifest, Stranger.Value);
        var cases = new (ValueRecord[] Log, bool Deleted)[]
        {
            ([record, owners], true),
            ([owners, record], true), // the tombstone arrived first, the manifest after it
            ([record, strangers], false), // another key's tombstone lost to the manifest, and still does
            ([strangers, record], false),
        };
        foreach (var (log, deleted) in cases)
        {
            await WriteLog(log);
            await using (var index = Reopen(out var loaded))
            {
                var entry = index.Files.Single().Value;
                Assert.That(entry.Deleted, Is.EqualTo(deleted));
                Assert.That(index.IsDeletedShard(manifest.ShardHash(0, 0)), Is.EqualTo(deleted));
                if (deleted)
                {
                    // Completed in memory: a valid tombstone of the current format, which compaction will write.
                    Assert.That(FileRecords.LacksManifest(entry.TombstoneRecord!), Is.False);
                    Assert.DoesNotThrow(() => FileRecordValidator.Instance.Validate(entry.TombstoneRecord!));
                    Assert.That(loaded, Has.Count.EqualTo(1));
                }
            }

            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public async Task Record_files_of_the_old_layout_move_into_the_log_and_are_deleted()
    {
        var (live, deleted) = (await NewManifest(), await NewManifest());
        var tombstone = Tombstone(deleted);
        Directory.CreateDirectory(_dir);
        await File.WriteAllBytesAsync(Path.Combine(_dir, live.Cid + ".manifest"), FileRecords.ForManifest(live).ToByteArray());
        await File.WriteAllBytesAsync(Path.Combine(_dir, deleted.Cid + ".manifest"), FileRecords.ForManifest(deleted).ToByteArray());
        await File.WriteAllBytesAsync(Path.Combine(_dir, deleted.Cid + ".tombstone"), tombstone.ToByteArray());
        await File.WriteAllBytesAsync(Path.Combine(_dir, live.Cid + ".tombstone.tmp"), [1, 2, 3]);

        long migrated;
        await using (var index = Reopen(out var loaded))
        {
            Assert.That(loaded, Has.Count.EqualTo(2), "the live file's manifest and the deleted file's tombstone");
            Assert.That(loaded[^1].ToByteString(), Is.EqualTo(tombstone.ToByteString()));
            Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { FileRecordLog.FileName }));
            migrated = new FileInfo(LogPath).Length;
        }

        // A crash after the append and before the deletes leaves both: the second load appends nothing.
        await File.WriteAllBytesAsync(Path.Combine(_dir, live.Cid + ".manifest"), FileRecords.ForManifest(live).ToByteArray());
        await using var reopened = Reopen(out var records);
        Assert.That(new FileInfo(LogPath).Length, Is.EqualTo(migrated));
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { FileRecordLog.FileName }));
        Assert.That(records, Has.Count.EqualTo(2));
        Assert.That(reopened.Files.Single(f => f.Key == deleted.Cid).Value.Deleted, Is.True);
        Assert.That(reopened.Files.Single(f => f.Key == live.Cid).Value.Deleted, Is.False);
    }

    [Test]
    public async Task Compaction_after_forgets_keeps_the_live_records_and_drops_the_forgotten_ones()
    {
        // 24 manifests of about 58 KB (1.4 MB of log), 20 of them forgotten: dead entries come to outnumber live ones.
        var manifests = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => NewManifest(segments: 120)));
        var live = manifests.Take(4).ToList();
        var tombstone = Tombstone(live[0]);
        await using (var index = Reopen(out _))
        {
            foreach (var m in manifests) await index.AcceptAsync(FileRecords.ForManifest(m), CancellationToken.None);
            await index.AcceptAsync(tombstone, CancellationToken.None);
            Assert.That(new FileInfo(LogPath).Length, Is.GreaterThan(FileRecordLog.CompactionMinBytes));
            foreach (var m in manifests.Skip(4)) index.Forget(m.Cid);
        }

        // Where the rewrite falls among the forgets depends on how they were batched: forgets appended after it stay.
        Assert.That(new FileInfo(LogPath).Length, Is.LessThan(FileRecordLog.CompactionMinBytes), "the log was rewritten");
        Assert.That(File.Exists(LogPath + ".tmp"), Is.False);
        var bodies = FileRecordLogTests.ReadEntries(_dir).Where(e => e.Kind != FileRecordLog.Kind.Forget).Select(e => ByteString.CopyFrom(e.Body)).ToList();
        // The deleted file keeps only its tombstone (which carries its manifest).
        var liveRecords = live.Skip(1).Select(m => FileRecords.ForManifest(m).ToByteString()).Append(tombstone.ToByteString()).ToList();
        Assert.That(liveRecords.Select(r => bodies.Count(b => b == r)), Is.All.EqualTo(1), "each live record once");

        await using var reopened = Reopen(out var loaded);
        Assert.That(Cids(reopened), Is.EquivalentTo(live.Select(m => m.Cid)));
        Assert.That(loaded.Select(r => r.ToByteString()), Is.EquivalentTo(liveRecords));
        Assert.That(reopened.Files.Single(f => f.Key == live[0].Cid).Value.Deleted, Is.True);
    }

    [Test]
    public void A_file_that_is_not_a_record_log_is_refused()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(LogPath, "not a log at all");
        var index = Open();
        Assert.That(index.Load, Throws.InstanceOf<MeshStorageException>());
    }

    private sealed class DiscardingSink : IShardSink
    {
        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
