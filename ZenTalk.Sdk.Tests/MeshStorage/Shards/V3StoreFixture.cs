using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>
/// Writes a shard store directory in layout version 3 (pack files whose records have no payload CRC), byte by byte
/// from docs/formats.md §4.2 rather than with the store's own writer, so the test also checks that the description
/// is enough to produce data the store reads.
/// </summary>
internal static class V3StoreFixture
{
    public sealed record Entry(Sha256Hash Hash, byte[] Data, string PackPath);

    /// <summary><paramref name="count"/> shards in packs of at most <paramref name="packBytes"/>; the last pack is left unsealed.</summary>
    public static List<Entry> Create(string directory, int count, int size, ShardMetadata metadata, long packBytes)
    {
        Directory.CreateDirectory(Path.Combine(directory, "packs"));
        Directory.CreateDirectory(Path.Combine(directory, "quarantine"));
        File.WriteAllText(Path.Combine(directory, "VERSION"), "3\n");
        var entries = new List<Entry>();
        var packs = new LegacyPacks(directory, 3, packBytes);
        for (var i = 0; i < count; i++)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var record = new byte[(136 + size + 511) & ~511];
            var hash = Sha256Hash.Compute(data);
            var header = record.AsSpan();
            "ZTSR"u8.CopyTo(header);
            header[4] = 3;
            BinaryPrimitives.WriteInt64LittleEndian(header[8..], data.Length);
            hash.CopyTo(header[16..]);
            BinaryPrimitives.WriteInt64LittleEndian(header[48..], 1_700_000_000_000L + i);
            BinaryPrimitives.WriteInt64LittleEndian(header[56..], metadata.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
            metadata.Cid?.CopyDigestTo(header[64..]);
            metadata.OwnerKeyId?.CopyTo(header[96..]);
            data.CopyTo(header[136..]);
            entries.Add(new Entry(hash, data, packs.Add(record).Path));
        }

        packs.Write(checksumAt: 128);
        return entries;
    }
}
