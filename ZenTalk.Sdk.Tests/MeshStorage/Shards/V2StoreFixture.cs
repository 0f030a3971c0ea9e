using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>Writes a shard store directory in layout version 2 (one file per shard under shards/&lt;hh&gt;/).</summary>
internal static class V2StoreFixture
{
    public sealed record Entry(Sha256Hash Hash, byte[] Data, ShardMetadata Metadata, DateTimeOffset StoredAt);

    public static string PathOf(string directory, Sha256Hash hash) =>
        Path.Combine(directory, "shards", hash.ToString()[..2], hash.ToString());

    public static List<Entry> Create(string directory, int count, int size, ShardMetadata metadata)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "VERSION"), "2\n");
        Directory.CreateDirectory(Path.Combine(directory, "quarantine"));
        var entries = new List<Entry>();
        for (var i = 0; i < count; i++)
        {
            var data = RandomNumberGenerator.GetBytes(size + i);
            var hash = Sha256Hash.Compute(data);
            var storedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000L + i);
            var header = new byte[ShardFile.HeaderSize];
            ShardFile.WriteHeader(header, hash, data.Length, storedAt, metadata);
            var path = PathOf(directory, hash);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [.. header, .. data]);
            entries.Add(new Entry(hash, data, metadata, storedAt));
        }

        return entries;
    }
}
