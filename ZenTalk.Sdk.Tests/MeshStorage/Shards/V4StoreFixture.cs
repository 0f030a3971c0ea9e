using System.Buffers.Binary;
using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>
/// Writes a shard store directory in layout version 4 (pack files whose 144-byte record headers carry one owner, one
/// expiry and a payload CRC-32C), byte by byte from docs/formats.md §4.2 rather than with the store's own writer, so
/// the test also checks that the description is enough to produce data the store reads.
/// </summary>
internal static class V4StoreFixture
{
    public sealed record Entry(Sha256Hash Hash, byte[] Data, string PackPath, long Offset, DateTimeOffset StoredAt);

    /// <summary><paramref name="count"/> shards in packs of at most <paramref name="packBytes"/>; the last pack is left unsealed.</summary>
    public static List<Entry> Create(string directory, int count, int size, ShardMetadata metadata, long packBytes)
    {
        Directory.CreateDirectory(Path.Combine(directory, "packs"));
        Directory.CreateDirectory(Path.Combine(directory, "quarantine"));
        File.WriteAllText(Path.Combine(directory, "VERSION"), "4\n");
        var entries = new List<Entry>();
        var packs = new LegacyPacks(directory, 4, packBytes);
        for (var i = 0; i < count; i++)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var record = new byte[(144 + size + 511) & ~511];
            var hash = Sha256Hash.Compute(data);
            var storedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000L + i);
            var header = record.AsSpan();
            "ZTSR"u8.CopyTo(header);
            header[4] = 4;
            BinaryPrimitives.WriteInt64LittleEndian(header[8..], data.Length);
            hash.CopyTo(header[16..]);
            BinaryPrimitives.WriteInt64LittleEndian(header[48..], storedAt.ToUnixTimeMilliseconds());
            BinaryPrimitives.WriteInt64LittleEndian(header[56..], metadata.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0);
            metadata.Cid?.CopyDigestTo(header[64..]);
            metadata.OwnerKeyId?.CopyTo(header[96..]);
            BinaryPrimitives.WriteUInt32LittleEndian(header[128..], Crc32C.Compute(data));
            data.CopyTo(header[144..]);
            var (path, offset) = packs.Add(record);
            entries.Add(new Entry(hash, data, path, offset, storedAt));
        }

        packs.Write(checksumAt: 136);
        return entries;
    }
}
