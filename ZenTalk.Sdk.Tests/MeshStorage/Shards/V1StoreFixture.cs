using System.Security.Cryptography;
using System.Text;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>Writes a shard store directory in layout version 1 (flat .shard files with .json sidecars).</summary>
internal static class V1StoreFixture
{
    public sealed record Entry(Sha256Hash Hash, byte[] Data, string? Cid, long? ExpiresAt, long StoredAt);

    public static List<Entry> Create(string directory, int count, int size, string? cid = null, long? expiresAt = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "VERSION"), "1\n");
        var entries = new List<Entry>();
        for (var i = 0; i < count; i++)
        {
            var data = RandomNumberGenerator.GetBytes(size + i);
            var hash = Sha256Hash.Compute(data);
            var storedAt = 1_700_000_000L + i;
            File.WriteAllBytes(Path.Combine(directory, hash + ".shard"), data);
            var json = new StringBuilder("{\"storedAt\":").Append(storedAt);
            if (cid is not null)
            {
                json.Append(",\"cid\":\"").Append(cid).Append('"');
            }

            if (expiresAt is not null)
            {
                json.Append(",\"expiresAt\":").Append(expiresAt);
            }

            File.WriteAllText(Path.Combine(directory, hash + ".json"), json.Append('}').ToString());
            entries.Add(new Entry(hash, data, cid, expiresAt, storedAt));
        }

        return entries;
    }
}
