using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>What a crash scenario did: kills, acknowledged writes checked, invariant violations (goal: none).</summary>
internal sealed class CrashReport(string scenario)
{
    public string Scenario { get; } = scenario;
    public int Iterations { get; set; }
    public long AcknowledgedChecked { get; set; }
    public int LeftoverTemporaries { get; set; }
    public List<string> Violations { get; } = [];

    public override string ToString() =>
        $"{Scenario}: {Iterations} SIGKILLs, {AcknowledgedChecked} acknowledged writes checked, {Violations.Count} invariant violations" +
        (LeftoverTemporaries > 0 ? $", {LeftoverTemporaries} leftover temporary files" : "");
}

/// <summary>
/// Kills the CrashWriter at random points and checks, after each kill, the invariants a crash must not break. The kill
/// schedule comes from <c>seed</c>; where the kill lands depends on timing, which is the point.
/// </summary>
internal static class CrashScenarios
{
    /// <summary>Shard puts: every acknowledged put reads back and verifies; nothing torn or foreign is visible.</summary>
    public static async Task<CrashReport> ShardsAsync(string writer, string directory, int iterations, int seed)
    {
        var report = new CrashReport("shard store puts");
        var random = new Random(seed);
        var started = new HashSet<string>();
        var done = new HashSet<string>();
        for (int i = 0; i < iterations; i++)
        {
            using var child = new CrashChild(writer, "shards", directory, (64 * 1024 * (1 + random.Next(8))).ToString(CultureInfo.InvariantCulture));
            await child.WhenReady.ConfigureAwait(false);
            await Task.Delay(random.Next(250)).ConfigureAwait(false);
            foreach (var line in await child.KillAsync().ConfigureAwait(false))
            {
                var parts = line.Split(' ');
                (parts[0] == "start" ? started : done).Add(parts[1]);
            }
            report.Iterations++;
            using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = directory }).ConfigureAwait(false);
            foreach (var hex in done)
            {
                if (!Sha256Hash.TryParseHex(hex, out var hash) || await store.GetAsync(hash).ConfigureAwait(false) is null)
                    report.Violations.Add($"kill {i}: acknowledged shard {hex} is missing or does not verify");
                report.AcknowledgedChecked++;
            }
            foreach (var info in store.List())
            {
                if (!started.Contains(info.Hash.ToString())) report.Violations.Add($"kill {i}: a shard nobody put is visible: {info.Hash}");
                if (await store.GetAsync(info.Hash).ConfigureAwait(false) is null) report.Violations.Add($"kill {i}: visible shard {info.Hash} does not verify");
            }
            if (store.GetStats().QuarantinedSinceOpen != 0) report.Violations.Add($"kill {i}: a torn shard was found on open");
        }
        return report;
    }

    /// <summary>Message batches: every batch acknowledged before the kill is present whole, batches are atomic, integrity_check is ok.</summary>
    public static async Task<CrashReport> MessagesAsync(string writer, string database, int iterations, int seed, int batchSize = 25)
    {
        var report = new CrashReport("message store batches");
        var random = new Random(seed);
        var acked = new List<int>();
        int nextBatch = 0;
        for (int i = 0; i < iterations; i++)
        {
            using var child = new CrashChild(writer, "messages", database, nextBatch.ToString(CultureInfo.InvariantCulture), batchSize.ToString(CultureInfo.InvariantCulture));
            await child.WhenReady.ConfigureAwait(false);
            await Task.Delay(random.Next(250)).ConfigureAwait(false);
            var lines = await child.KillAsync().ConfigureAwait(false);
            var batches = lines.Select(l => int.Parse(l.AsSpan(4), CultureInfo.InvariantCulture)).ToList();
            acked.AddRange(batches);
            report.Iterations++;
            // The killed batch may or may not have committed: the next run starts past it so ids never collide.
            nextBatch = (batches.Count > 0 ? batches[^1] : nextBatch) + 2;

            var integrity = IntegrityCheck(database);
            if (integrity != "ok") report.Violations.Add($"kill {i}: integrity_check says {integrity}");
            await using var store = await SqliteMessageStore.OpenAsync(database).ConfigureAwait(false);
            foreach (int batch in batches)
            {
                for (int m = 0; m < batchSize; m++)
                    if (await store.GetMessageAsync($"b{batch}-{m}").ConfigureAwait(false) is null)
                        report.Violations.Add($"kill {i}: acknowledged message b{batch}-{m} is missing");
            }
            report.AcknowledgedChecked += (long)batches.Count * batchSize;
            long total = CountMessages(database);
            if (total % batchSize != 0) report.Violations.Add($"kill {i}: {total} messages is not a whole number of batches (a torn batch)");
            if (total < (long)acked.Count * batchSize) report.Violations.Add($"kill {i}: {total} messages, fewer than the {acked.Count * batchSize} acknowledged");
        }
        SqliteConnection.ClearAllPools();
        return report;
    }

    /// <summary>Restores: after a kill the target is exactly the old database or one complete restored one, and opens clean.</summary>
    public static async Task<CrashReport> RestoreAsync(string writer, string directory, int iterations, int seed)
    {
        var report = new CrashReport("backup restore");
        var random = new Random(seed);
        var target = Path.Combine(directory, "target.db");
        var backupA = Path.Combine(directory, "a.backup");
        var backupB = Path.Combine(directory, "b.backup");
        await MakeStoreAsync(target, "old", 30).ConfigureAwait(false);
        await WriteBackupAsync(Path.Combine(directory, "a.db"), backupA, "a", 400).ConfigureAwait(false);
        await WriteBackupAsync(Path.Combine(directory, "b.db"), backupB, "b", 900).ConfigureAwait(false);
        var allowed = new Dictionary<string, string> { [Hash(target)] = "old" };
        foreach (var (name, backup) in new[] { ("A", backupA), ("B", backupB) })
        {
            var scratch = Path.Combine(directory, name + "-restored.db");
            await using (var s = File.OpenRead(backup)) await SqliteMessageStore.RestoreAsync(s, scratch).ConfigureAwait(false);
            allowed[Hash(scratch)] = name;
        }
        for (int i = 0; i < iterations; i++)
        {
            using var child = new CrashChild(writer, "restore", target, backupA, backupB);
            await child.WhenReady.ConfigureAwait(false);
            await Task.Delay(random.Next(300)).ConfigureAwait(false);
            await child.KillAsync().ConfigureAwait(false);
            report.Iterations++;
            if (!File.Exists(target)) report.Violations.Add($"kill {i}: the target is gone");
            else if (!allowed.ContainsKey(Hash(target))) report.Violations.Add($"kill {i}: the target is neither the old database nor a complete restore");
            else
            {
                report.AcknowledgedChecked++;
                var integrity = IntegrityCheck(target);
                if (integrity != "ok") report.Violations.Add($"kill {i}: integrity_check says {integrity}");
            }
        }
        report.LeftoverTemporaries = Directory.EnumerateFiles(directory, ".target.db.restore-*").Count();
        SqliteConnection.ClearAllPools();
        return report;
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static string IntegrityCheck(string path)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        return Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "null";
    }

    private static long CountMessages(string path)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM messages";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static async Task MakeStoreAsync(string path, string prefix, int count)
    {
        await using var store = await SqliteMessageStore.OpenAsync(path).ConfigureAwait(false);
        await store.SaveMessagesAsync(Enumerable.Range(0, count).Select(i => new Message
        {
            MessageId = $"{prefix}{i}",
            ConversationId = prefix,
            SenderId = "s",
            SentAt = DateTimeOffset.UnixEpoch.AddMinutes(i),
            Body = new string('m', 100 + i),
        })).ConfigureAwait(false);
    }

    private static async Task WriteBackupAsync(string database, string backup, string prefix, int count)
    {
        await MakeStoreAsync(database, prefix, count).ConfigureAwait(false);
        await using var store = await SqliteMessageStore.OpenAsync(database).ConfigureAwait(false);
        await using var file = File.Create(backup);
        await store.BackupAsync(file).ConfigureAwait(false);
    }
}
