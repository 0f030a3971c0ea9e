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
        var packs = new List<(string Path, List<byte[]> Records)>();
        var used = packBytes; // full: the first record opens the first pack
        for (var i = 0; i < count; i++)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var record = new byte[(136 + size + 511) & ~511];
            if (used + record.Length > packBytes)
            {
                packs.Add((Path.Combine(directory, "packs", (packs.Count + 1).ToString("x16") + ".pack"), []));
                used = 512;
            }

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
            packs[^1].Records.Add(record);
            used += record.Length;
            entries.Add(new Entry(hash, data, packs[^1].Path));
        }

        for (var p = 0; p < packs.Count; p++)
        {
            var salt = RandomNumberGenerator.GetBytes(16);
            var file = new byte[512];
            "ZTPK"u8.CopyTo(file);
            file[4] = 3;
            BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(8), p + 1);
            salt.CopyTo(file, 16);
            SHA256.HashData(file.AsSpan(0, 32))[..8].CopyTo(file, 32); // byte 5 (sealed) is still 0 here
            file[5] = p < packs.Count - 1 ? (byte)1 : (byte)0;
            using var stream = new FileStream(packs[p].Path, FileMode.CreateNew);
            stream.Write(file);
            foreach (var record in packs[p].Records)
            {
                SHA256.HashData([.. salt, .. record.AsSpan(0, 128)])[..8].CopyTo(record, 128); // state byte 5 is 0 here
                record[5] = 1; // live
                stream.Write(record);
            }
        }

        return entries;
    }
}
