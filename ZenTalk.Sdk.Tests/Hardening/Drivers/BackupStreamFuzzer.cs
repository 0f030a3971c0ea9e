using System.Security.Cryptography;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Restores truncated, bit-flipped, spliced and random backup streams over an existing database. Each must be refused
/// with <see cref="BackupFormatException"/> (or <see cref="SchemaVersionException"/> for a newer schema) and leave the
/// target byte for byte as it was, with no temporary file left behind; an unchanged stream must restore.
/// </summary>
internal static class BackupStreamFuzzer
{
    public static async Task<FuzzReport> RunAsync(string directory, int seed, long cases, CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport("SqliteMessageStore.RestoreAsync");
        var m = new Mutator(seed);
        var backup = await MakeBackupAsync(Path.Combine(directory, "source.db"), cancellationToken).ConfigureAwait(false);
        var target = Path.Combine(directory, "target.db");
        await using (var s = await SqliteMessageStore.OpenAsync(target, cancellationToken: cancellationToken).ConfigureAwait(false))
            await s.SaveMessageAsync(new Message { MessageId = "keep", ConversationId = "c", SenderId = "a", SentAt = DateTimeOffset.UnixEpoch }, cancellationToken).ConfigureAwait(false);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var before = Hash(target);
        int header = 32, trailer = 32;
        for (long i = 0; i < cases && !cancellationToken.IsCancellationRequested; i++)
        {
            byte[] input = m.Random.Next(8) switch
            {
                0 => backup[..m.Random.Next(backup.Length)],
                1 => m.RandomBytes(2000),
                2 => Flip(m, backup, 0, header),
                3 => Flip(m, backup, backup.Length - trailer, trailer),
                4 => Flip(m, backup, header, backup.Length - header - trailer),
                5 => [.. backup, .. m.RandomBytes(100)],
                _ => m.Mutate(backup.AsSpan(0, Math.Min(backup.Length, 96)), backup) is var head ? [.. head, .. backup.AsSpan(Math.Min(backup.Length, 96))] : backup,
            };
            bool same = input.AsSpan(0, Math.Min(input.Length, backup.Length)).SequenceEqual(backup.AsSpan(0, Math.Min(input.Length, backup.Length)))
                        && input.Length >= backup.Length;
            try
            {
                using var stream = new MemoryStream(input);
                await SqliteMessageStore.RestoreAsync(stream, target, cancellationToken).ConfigureAwait(false);
                if (!same)
                {
                    // A flip the format cannot see is one that changes nothing (for example an unused header byte
                    // that the checksum covers would still be caught) — any accepted change is a finding.
                    report.Crash("RestoreAsync accepted a changed stream: " + Convert.ToHexString(input.AsSpan(0, Math.Min(64, input.Length))));
                }
                else report.Count("restored (unchanged stream)");
                before = Hash(target);
            }
            catch (Exception ex) when (ex is BackupFormatException or SchemaVersionException)
            {
                report.Count(ex.GetType().Name);
                if (!Hash(target).AsSpan().SequenceEqual(before)) report.Crash("a refused restore changed the target: " + ex.Message);
            }
            catch (Exception ex)
            {
                report.Crash(ex, input.AsSpan(0, Math.Min(input.Length, 128)));
            }
            var leftovers = Directory.EnumerateFiles(directory, ".target.db.restore-*").ToList();
            if (leftovers.Count > 0)
            {
                report.Crash("a restore left temporary files behind: " + string.Join(", ", leftovers.Select(Path.GetFileName)));
                foreach (var f in leftovers) File.Delete(f);
            }
        }
        return report;
    }

    private static byte[] Flip(Mutator m, byte[] backup, int start, int length)
    {
        var copy = (byte[])backup.Clone();
        for (int j = 1 + m.Random.Next(3); j > 0; j--) copy[start + m.Random.Next(length)] ^= (byte)(1 << m.Random.Next(8));
        return copy;
    }

    private static byte[] Hash(string path) => SHA256.HashData(File.ReadAllBytes(path));

    private static async Task<byte[]> MakeBackupAsync(string path, CancellationToken cancellationToken)
    {
        await using var store = await SqliteMessageStore.OpenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        var messages = Enumerable.Range(0, 50).Select(i => new Message
        {
            MessageId = "m" + i,
            ConversationId = "c" + (i % 3),
            SenderId = "bob",
            SentAt = DateTimeOffset.UnixEpoch.AddMinutes(i),
            Body = "message body " + i,
        });
        await store.SaveMessagesAsync(messages, cancellationToken).ConfigureAwait(false);
        using var ms = new MemoryStream();
        await store.BackupAsync(ms, cancellationToken).ConfigureAwait(false);
        return ms.ToArray();
    }
}
