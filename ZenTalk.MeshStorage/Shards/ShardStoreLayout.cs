using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The versioned directory layout of a shard store, and the machinery that upgrades an older layout to it.
/// <para>Layout 1 (current): <c>VERSION</c> ("1\n"), <c>packs/&lt;16 hex&gt;.pack</c> (<see cref="PackFile"/> of
/// <see cref="PackRecord"/>s), <c>quarantine/</c>. See docs/formats.md §4.</para>
/// <para>An upgrade (<see cref="ShardStoreUpgrade"/>) takes a directory from one layout to the next, and every upgrade is
/// crash-safe the same way: a marker file says which one is running; the step builds its new tree in a staging
/// directory, the tree is moved into place, and the atomic rewrite of <c>VERSION</c> is the commit point. Before it the
/// old layout is authoritative and the upgrade starts over; after it only the step's cleanup of the old files remains.
/// The store serves nothing until the marker is gone, so nobody ever sees a mix of layouts. An older store goes through
/// every step up to <see cref="CurrentVersion"/> in one open.</para>
/// </summary>
internal static class ShardStoreLayout
{
    public const int CurrentVersion = 1;
    public const string VersionFile = "VERSION";
    public const string PacksDirectory = "packs";
    public const string QuarantineDirectory = "quarantine";
    public const string MigrationMarker = ".migration";
    public const string StagingDirectory = ".migration-staging";
    private const string TempPrefix = ".tmp-";

    /// <summary>The upgrades this build knows, oldest first. None yet: layout 1 is the first anybody has data in.</summary>
    public static IReadOnlyList<ShardStoreUpgrade> Upgrades { get; } = [];

    public static async Task PrepareAsync(ShardStoreOptions options, CancellationToken cancellationToken)
    {
        var root = options.Directory;
        Directory.CreateDirectory(root);
        DeleteTempFiles(root);
        var version = ReadVersion(root);
        if (version is null)
        {
            if (Directory.EnumerateFileSystemEntries(root).Any())
            {
                throw new MeshStorageException(
                    $"'{root}' is not empty and has no {VersionFile} file, so it is not a shard store. Choose an empty or existing shard store directory.");
            }

            await WriteAtomicallyAsync(root, VersionFile, VersionText(CurrentVersion), cancellationToken).ConfigureAwait(false);
            EnsureDirectories(root);
            return;
        }

        if (version > CurrentVersion)
        {
            throw new MeshStorageException(
                $"The shard store in '{root}' has layout version {version}, written by a newer ZenTalk; this version reads up to {CurrentVersion}. Upgrade ZenTalk.MeshStorage.");
        }

        var upgrades = options.Upgrades ?? Upgrades;
        var current = version.Value;
        var marker = Path.Combine(root, MigrationMarker);
        var restart = false;
        if (File.Exists(marker))
        {
            var text = File.ReadAllText(marker);
            var step = ParseMarker(text) is { } from ? StepFrom(upgrades, from) : null;
            if (step is null || (current != step.From && current != step.From + 1))
            {
                throw new MeshStorageException(
                    $"The shard store in '{root}' (layout {current}) was left in the middle of an upgrade this version does not know ({MigrationMarker}: '{text.Trim()}'). Open it with the ZenTalk version that started the upgrade.");
            }

            if (current == step.From)
            {
                restart = true; // not committed: the old layout is untouched, the step runs again from the start
            }
            else
            {
                options.Logger.UpgradeCleanupFinishing(root);
                await FinishAsync(options, step, cancellationToken).ConfigureAwait(false);
            }
        }

        for (; current < CurrentVersion; current++, restart = false)
        {
            var step = StepFrom(upgrades, current) ?? throw new MeshStorageException(
                $"The shard store in '{root}' has layout version {current}, which this version of ZenTalk cannot upgrade (it reads layout {CurrentVersion}).");
            await UpgradeAsync(options, step, restart, cancellationToken).ConfigureAwait(false);
        }

        EnsureDirectories(root);
    }

    private static ShardStoreUpgrade? StepFrom(IReadOnlyList<ShardStoreUpgrade> upgrades, int from) =>
        upgrades.FirstOrDefault(u => u.From == from);

    private static string MarkerText(ShardStoreUpgrade step) =>
        string.Create(CultureInfo.InvariantCulture, $"{step.From}->{step.From + 1}\n");

    private static int? ParseMarker(string text)
    {
        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        return arrow > 0 && int.TryParse(text.AsSpan(0, arrow), NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            && text == string.Create(CultureInfo.InvariantCulture, $"{from}->{from + 1}\n") ? from : null;
    }

    /// <summary>
    /// Runs one step: marker, staged tree, move into place, commit (the rewrite of <c>VERSION</c>), cleanup. Reports
    /// each point (started, copied:N, staged, moved, committed) to <see cref="ShardStoreOptions.MigrationStep"/>.
    /// </summary>
    private static async Task UpgradeAsync(ShardStoreOptions options, ShardStoreUpgrade step, bool restart, CancellationToken cancellationToken)
    {
        var log = options.Logger;
        var root = options.Directory;
        var staging = Path.Combine(root, StagingDirectory);
        var staged = Path.Combine(staging, step.Tree);
        var live = Path.Combine(root, step.Tree);
        var to = step.From + 1;
        if (restart)
        {
            log.UpgradeRestarting(root, step.From, to);
            // The tree does not exist in the old layout: what is there was moved in by the interrupted run.
            if (Directory.Exists(live)) Directory.Delete(live, recursive: true);
        }
        else
        {
            log.Upgrading(root, step.From, to);
            await WriteAtomicallyAsync(root, MigrationMarker, MarkerText(step), cancellationToken).ConfigureAwait(false);
        }

        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staged);
        FileSync.Directory(staging);
        FileSync.Directory(root);
        options.MigrationStep?.Invoke("started");
        var carried = 0;
        await BlockingIo.RunAsync(() =>
        {
            using var context = new ShardStoreUpgradeContext(options, staged, cancellationToken);
            carried = step.Stage(context);
            context.Complete();
        }, cancellationToken).ConfigureAwait(false);
        options.MigrationStep?.Invoke("staged");
        Directory.Move(staged, live);
        FileSync.Directory(root);
        options.MigrationStep?.Invoke("moved");
        await WriteAtomicallyAsync(root, VersionFile, VersionText(to), cancellationToken).ConfigureAwait(false);
        options.MigrationStep?.Invoke("committed");
        await FinishAsync(options, step, cancellationToken).ConfigureAwait(false);
        log.Upgraded(carried, root, to);
    }

    /// <summary>After the commit: the step's cleanup of the old layout, the staging area, then the marker (last, so a crash repeats this).</summary>
    private static Task FinishAsync(ShardStoreOptions options, ShardStoreUpgrade step, CancellationToken cancellationToken) =>
        BlockingIo.RunAsync(() =>
        {
            var root = options.Directory;
            step.Cleanup(root);
            var staging = Path.Combine(root, StagingDirectory);
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            FileSync.Directory(root);
            File.Delete(Path.Combine(root, MigrationMarker));
            FileSync.Directory(root);
        }, cancellationToken);

    private static int? ReadVersion(string root)
    {
        var path = Path.Combine(root, VersionFile);
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path).Trim();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? version
            : throw new MeshStorageException($"The {VersionFile} file in '{root}' is unreadable ('{text}'); the directory is not a valid shard store.");
    }

    private static string VersionText(int version) => version.ToString(CultureInfo.InvariantCulture) + "\n";

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

    /// <summary>
    /// Replaces <paramref name="name"/> in <paramref name="root"/> atomically: a temp file written and flushed, renamed
    /// over it, the directory flushed. A crash leaves the old file or the new one, and at worst a temp file that the
    /// next open deletes.
    /// </summary>
    private static Task WriteAtomicallyAsync(string root, string name, string text, CancellationToken cancellationToken) =>
        BlockingIo.RunAsync(() =>
        {
            var temp = Path.Combine(root, TempPrefix + Guid.NewGuid().ToString("N"));
            try
            {
                using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write))
                {
                    RandomAccess.Write(handle, Encoding.ASCII.GetBytes(text), 0);
                    RandomAccess.FlushToDisk(handle);
                }

                File.Move(temp, Path.Combine(root, name), overwrite: true);
            }
            catch
            {
                File.Delete(temp);
                throw;
            }

            FileSync.Directory(root);
        }, cancellationToken);

    private static void DeleteTempFiles(string root)
    {
        foreach (var temp in Directory.EnumerateFiles(root, TempPrefix + "*")) File.Delete(temp);
    }
}
