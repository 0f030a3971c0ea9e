using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The versioned directory layout of a shard store, and the migrations from older layouts.
/// <para>Version 5 (current): <c>VERSION</c> ("5\n"), <c>packs/&lt;16 hex&gt;.pack</c> (<see cref="PackFile"/>),
/// <c>quarantine/</c>. New packs hold version 5 records (a CRC-32C of the payload and the owners' holds,
/// <see cref="PackRecord"/>); packs of versions 3 and 4 are read as they are, each record as one hold.</para>
/// <para>Versions 3 and 4: the same tree, with packs of those versions. Opening one writes <c>VERSION</c> "5" and
/// nothing else: its packs stay readable, the next appends go to a new pack, and compaction rewrites old records as it
/// moves them. The rewrite of <c>VERSION</c> is the whole migration, so a crash leaves either layout, each complete.</para>
/// <para>Version 2: <c>VERSION</c> ("2\n"), <c>shards/&lt;first two hex digits&gt;/&lt;64 hex&gt;</c>, one
/// <see cref="ShardFile"/> per shard, <c>quarantine/</c>.</para>
/// <para>Version 1 (the first prototype): <c>VERSION</c> ("1\n"), flat <c>&lt;64 hex&gt;.shard</c> files with the raw
/// bytes, and a <c>&lt;64 hex&gt;.json</c> sidecar per shard (<c>cid</c>, <c>owner</c>, <c>storedAt</c>,
/// <c>expiresAt</c> in Unix seconds).</para>
/// <para>Every migration is crash-safe the same way: a marker file says which migration is running; the new tree is
/// built in a staging directory, moved into place, and the atomic rewrite of <c>VERSION</c> is the commit point.
/// Before it the old layout is authoritative and the migration resumes (1 → 2) or starts over (2 → 3); after it
/// only the cleanup of old files remains. The store serves nothing until the marker is gone, so nobody ever sees a
/// mix of layouts. A version 1 store goes through 2 to 5 in one open; a version 2 store goes straight to 5.</para>
/// </summary>
internal static class ShardStoreLayout
{
    public const int CurrentVersion = 5;
    public const string VersionFile = "VERSION";
    public const string PacksDirectory = "packs";
    public const string ShardsDirectory = "shards";
    public const string QuarantineDirectory = "quarantine";
    public const string MigrationMarker = ".migration";
    public const string StagingDirectory = ".migration-staging";
    private const string V1Marker = "1->2\n";
    private const string V2Marker = "2->5\n";

    public static async Task PrepareAsync(ShardStoreOptions options, CancellationToken cancellationToken)
    {
        var root = options.Directory;
        Directory.CreateDirectory(root);
        var version = ReadVersion(root);
        if (version is null)
        {
            if (Directory.EnumerateFileSystemEntries(root).Any())
            {
                throw new MeshStorageException(
                    $"'{root}' is not empty and has no {VersionFile} file, so it is not a shard store. Choose an empty or existing shard store directory.");
            }

            await WriteVersionAsync(root, CurrentVersion, cancellationToken).ConfigureAwait(false);
            EnsureDirectories(root);
            return;
        }

        if (version > CurrentVersion)
        {
            throw new MeshStorageException(
                $"The shard store in '{root}' has layout version {version}, written by a newer ZenTalk; this version reads up to {CurrentVersion}. Upgrade ZenTalk.MeshStorage.");
        }

        var marker = Path.Combine(root, MigrationMarker);
        switch (version)
        {
            case 1:
                await MigrateFromV1Async(options, cancellationToken).ConfigureAwait(false);
                await MigrateFromV2Async(options, cancellationToken).ConfigureAwait(false);
                break;
            case 2:
                if (File.Exists(marker) && File.ReadAllText(marker) == V1Marker)
                {
                    options.Logger.LogInformation("Finishing the cleanup of an interrupted shard store migration in {Directory}.", root);
                    FinishV1Cleanup(root);
                }

                await MigrateFromV2Async(options, cancellationToken).ConfigureAwait(false);
                break;
            case 3 or 4 or CurrentVersion:
                if (File.Exists(marker))
                {
                    options.Logger.LogInformation("Finishing the cleanup of an interrupted shard store migration in {Directory}.", root);
                    FinishV2Cleanup(root);
                }

                EnsureDirectories(root);
                if (version != CurrentVersion)
                {
                    // Layout 5 reads every layout 3 and 4 pack as it is: the version is all that changes.
                    await WriteVersionAsync(root, CurrentVersion, cancellationToken).ConfigureAwait(false);
                    options.Logger.LogInformation("Shard store in {Directory} is now layout {Version}; its layout {Old} packs are read as they are.", root, CurrentVersion, version);
                }

                break;
            default:
                throw new MeshStorageException($"The shard store in '{root}' has an unknown layout version {version}.");
        }
    }

    public static string ShardPath(string shardsRoot, Sha256Hash hash)
    {
        var hex = hash.ToString();
        return Path.Combine(shardsRoot, hex[..2], hex);
    }

    private static int? ReadVersion(string root)
    {
        var path = Path.Combine(root, VersionFile);
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path).Trim();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0
            ? version
            : throw new MeshStorageException($"The {VersionFile} file in '{root}' is unreadable ('{text}'); the directory is not a valid shard store.");
    }

    private static Task WriteVersionAsync(string root, int version, CancellationToken cancellationToken) =>
        ShardFile.WriteAtomicallyAsync(Path.Combine(root, VersionFile),
            Encoding.ASCII.GetBytes(version.ToString(CultureInfo.InvariantCulture) + "\n"), ReadOnlyMemory<byte>.Empty, cancellationToken);

    private static void EnsureDirectories(string root)
    {
        var packs = Path.Combine(root, PacksDirectory);
        var created = !Directory.Exists(packs);
        Directory.CreateDirectory(packs);
        Directory.CreateDirectory(Path.Combine(root, QuarantineDirectory));
        if (created)
        {
            FileSync.Directory(root);
        }
    }

    private static void CreateShardTree(string shards, string parent)
    {
        var created = !Directory.Exists(shards);
        Directory.CreateDirectory(shards);
        for (var i = 0; i < 256; i++)
        {
            Directory.CreateDirectory(Path.Combine(shards, i.ToString("x2", CultureInfo.InvariantCulture)));
        }

        if (created)
        {
            FileSync.Directory(shards);
            FileSync.Directory(parent);
        }
    }

    /// <summary>The places one migration works in: its marker, its staging area, the tree it stages and where that goes.</summary>
    private readonly record struct MigrationPaths(string Root, string Marker, string Staging, string Staged, string Live)
    {
        public static MigrationPaths For(string root, string tree) => new(root, Path.Combine(root, MigrationMarker),
            Path.Combine(root, StagingDirectory), Path.Combine(root, StagingDirectory, tree), Path.Combine(root, tree));
    }

    /// <summary>
    /// The end every migration shares: move the staged tree into place, then the commit point — the atomic rewrite of
    /// <c>VERSION</c>. Reports the steps (<paramref name="step"/> prefix + staged, moved, committed) to the test hook.
    /// </summary>
    private static async Task MoveAndCommitAsync(ShardStoreOptions options, MigrationPaths paths, int version, string step, CancellationToken cancellationToken)
    {
        options.MigrationStep?.Invoke(step + "staged");
        Directory.Move(paths.Staged, paths.Live);
        FileSync.Directory(paths.Root);
        options.MigrationStep?.Invoke(step + "moved");
        await WriteVersionAsync(paths.Root, version, cancellationToken).ConfigureAwait(false);
        options.MigrationStep?.Invoke(step + "committed");
    }

    private static async Task MigrateFromV1Async(ShardStoreOptions options, CancellationToken cancellationToken)
    {
        var log = options.Logger;
        var paths = MigrationPaths.For(options.Directory, ShardsDirectory);
        var (root, marker, staging, stagedShards, liveShards) = paths;

        if (File.Exists(marker))
        {
            log.LogWarning("Resuming an interrupted migration of the shard store in {Directory} from layout 1 to 2.", root);
            // Moved into place but not committed: move it back and carry on staging.
            if (Directory.Exists(liveShards))
            {
                Directory.CreateDirectory(staging);
                if (Directory.Exists(stagedShards))
                {
                    Directory.Delete(stagedShards, recursive: true);
                }

                Directory.Move(liveShards, stagedShards);
            }
        }
        else
        {
            log.LogInformation("Migrating the shard store in {Directory} from layout 1 to 2.", root);
            await ShardFile.WriteAtomicallyAsync(marker, Encoding.ASCII.GetBytes(V1Marker), ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(staging);
        CreateShardTree(stagedShards, staging);
        options.MigrationStep?.Invoke("started");

        var copied = 0;
        var quarantine = Path.Combine(root, QuarantineDirectory);
        foreach (var file in Directory.EnumerateFiles(root, "*.shard"))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = Path.GetFileNameWithoutExtension(file);
            if (!Sha256Hash.TryParseHex(name, out var hash))
            {
                log.LogWarning("Skipping {File}: not a shard name.", file);
                continue;
            }

            var target = ShardPath(stagedShards, hash);
            if (File.Exists(target))
            {
                continue; // staged by an interrupted run (atomically, so it is complete)
            }

            var payload = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            if (!hash.Matches(payload))
            {
                Directory.CreateDirectory(quarantine);
                log.LogWarning("Shard {Hash} of the old layout does not match its hash; it is quarantined, not migrated.", hash);
                File.Copy(file, Path.Combine(quarantine, name + ".v1"), overwrite: true);
                continue;
            }

            var (storedAt, metadata) = ReadV1Sidecar(Path.ChangeExtension(file, ".json"), File.GetLastWriteTimeUtc(file), log);
            var header = new byte[ShardFile.HeaderSize];
            ShardFile.WriteHeader(header, hash, payload.Length, storedAt, metadata);
            await ShardFile.WriteAtomicallyAsync(target, header, payload, cancellationToken).ConfigureAwait(false);
            options.MigrationStep?.Invoke("copied:" + (++copied).ToString(CultureInfo.InvariantCulture));
        }

        await MoveAndCommitAsync(options, paths, 2, "", cancellationToken).ConfigureAwait(false);
        FinishV1Cleanup(root);
        log.LogInformation("Migrated {Count} shards in {Directory} to layout 2.", copied, root);
    }

    private static async Task MigrateFromV2Async(ShardStoreOptions options, CancellationToken cancellationToken)
    {
        var log = options.Logger;
        var paths = MigrationPaths.For(options.Directory, PacksDirectory);
        var (root, marker, staging, stagedPacks, livePacks) = paths;
        if (File.Exists(marker))
        {
            // Not committed: the layout 2 files are untouched and authoritative, so the packs are built again.
            log.LogWarning("Restarting an interrupted migration of the shard store in {Directory} from layout 2 to {Version}.", root, CurrentVersion);
            if (Directory.Exists(livePacks))
            {
                Directory.Delete(livePacks, recursive: true);
            }
        }
        else
        {
            log.LogInformation("Migrating the shard store in {Directory} from layout 2 to {Version}.", root, CurrentVersion);
            await ShardFile.WriteAtomicallyAsync(marker, Encoding.ASCII.GetBytes(V2Marker), ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }

        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(stagedPacks);
        FileSync.Directory(staging);
        FileSync.Directory(root);
        options.MigrationStep?.Invoke("packs:started");
        var copied = 0;
        await BlockingIo.RunAsync(() => copied = StageV2Packs(options, stagedPacks, cancellationToken), cancellationToken).ConfigureAwait(false);
        await MoveAndCommitAsync(options, paths, CurrentVersion, "packs:", cancellationToken).ConfigureAwait(false);
        FinishV2Cleanup(root);
        EnsureDirectories(root);
        log.LogInformation("Migrated {Count} shards in {Directory} to layout {Version}.", copied, root, CurrentVersion);
    }

    /// <summary>Copies every valid layout 2 shard file into sealed packs in <paramref name="stagedPacks"/> (blocking).</summary>
    private static int StageV2Packs(ShardStoreOptions options, string stagedPacks, CancellationToken cancellationToken)
    {
        var log = options.Logger;
        var shards = Path.Combine(options.Directory, ShardsDirectory);
        var quarantine = Path.Combine(options.Directory, QuarantineDirectory);
        var recordHeader = new byte[PackRecord.MaxHeaderSize];
        PackFile? pack = null;
        long id = 0;
        var copied = 0;
        try
        {
            var files = Directory.Exists(shards) ? Directory.EnumerateFiles(shards, "*", SearchOption.AllDirectories) : [];
            foreach (var file in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = Path.GetFileName(file);
                if (name.StartsWith(ShardFile.TempPrefix, StringComparison.Ordinal))
                {
                    continue; // a layout 2 put that never reached its rename: never visible
                }

                if (!Sha256Hash.TryParseHex(name, out var hash))
                {
                    log.LogWarning("Skipping {File}: not a shard name.", file);
                    continue;
                }

                var bytes = File.ReadAllBytes(file);
                if (bytes.Length < ShardFile.HeaderSize || !ShardFile.TryReadHeader(bytes, hash, out var info)
                    || info.Length != bytes.Length - ShardFile.HeaderSize || !hash.Matches(bytes.AsSpan(ShardFile.HeaderSize)))
                {
                    Directory.CreateDirectory(quarantine);
                    log.LogWarning("Shard {Hash} of layout 2 is damaged; it is quarantined, not migrated.", hash);
                    File.Copy(file, Path.Combine(quarantine, name + ".v2"), overwrite: true);
                    continue;
                }

                var size = PackRecord.Size(info);
                if (pack is null || (pack.End > PackFile.FileHeaderSize && pack.End + size > options.PackBytes))
                {
                    pack?.Seal();
                    pack?.Release();
                    pack = null;
                    pack = PackFile.Create(stagedPacks, ++id);
                }

                var payload = bytes.AsMemory(ShardFile.HeaderSize);
                var headerSize = PackRecord.WriteHeader(recordHeader, pack.Salt, info, Crc32C.Compute(payload.Span));
                RandomAccess.Write(pack.Handle,
                    [recordHeader.AsMemory(0, headerSize), payload, ZeroFill.Zeros[..(int)(size - headerSize - info.Length)]], pack.End);
                pack.End += size;
                options.MigrationStep?.Invoke("packs:copied:" + (++copied).ToString(CultureInfo.InvariantCulture));
            }

            pack?.Seal(); // flushes every record first
        }
        finally
        {
            pack?.Release();
        }

        FileSync.Directory(stagedPacks);
        return copied;
    }

    /// <summary>After the commit of the migration from layout 2: remove the layout 2 tree and the staging area, then the marker.</summary>
    private static void FinishV2Cleanup(string root)
    {
        var shards = Path.Combine(root, ShardsDirectory);
        if (Directory.Exists(shards))
        {
            Directory.Delete(shards, recursive: true);
        }

        var staging = Path.Combine(root, StagingDirectory);
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        FileSync.Directory(root);
        File.Delete(Path.Combine(root, MigrationMarker));
        FileSync.Directory(root);
    }

    /// <summary>After the commit: remove what is left of layout 1, then the marker (last, so a crash repeats this).</summary>
    private static void FinishV1Cleanup(string root)
    {
        foreach (var pattern in new[] { "*.shard", "*.json" })
        {
            foreach (var file in Directory.EnumerateFiles(root, pattern))
            {
                File.Delete(file);
            }
        }

        var staging = Path.Combine(root, StagingDirectory);
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        FileSync.Directory(root);
        File.Delete(Path.Combine(root, MigrationMarker));
        FileSync.Directory(root);
    }

    private static (DateTimeOffset StoredAt, ShardMetadata Metadata) ReadV1Sidecar(string path, DateTime fileTime, ILogger log)
    {
        var storedAt = new DateTimeOffset(fileTime, TimeSpan.Zero);
        if (!File.Exists(path))
        {
            return (storedAt, default);
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var rootElement = doc.RootElement;
            Cid? cid = rootElement.TryGetProperty("cid", out var c) && c.ValueKind == JsonValueKind.String && Cid.TryParse(c.GetString(), out var parsed)
                ? parsed : null;
            Sha256Hash? owner = rootElement.TryGetProperty("owner", out var o) && o.ValueKind == JsonValueKind.String && Sha256Hash.TryParseHex(o.GetString(), out var ownerHash)
                ? ownerHash : null;
            DateTimeOffset? expires = rootElement.TryGetProperty("expiresAt", out var e) && e.ValueKind == JsonValueKind.Number
                ? DateTimeOffset.FromUnixTimeSeconds(e.GetInt64()) : null;
            if (rootElement.TryGetProperty("storedAt", out var s) && s.ValueKind == JsonValueKind.Number)
            {
                storedAt = DateTimeOffset.FromUnixTimeSeconds(s.GetInt64());
            }

            return (storedAt, new ShardMetadata(cid, owner, expires));
        }
        catch (JsonException ex)
        {
            // The bytes are verified by their hash; losing unreadable metadata only means "no expiry, owner unknown".
            log.LogWarning(ex, "Unreadable metadata {File}; the shard is migrated without it.", path);
            return (storedAt, default);
        }
    }
}
