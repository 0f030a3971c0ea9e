using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

/// <summary>
/// Pack files of an older layout (3 or 4), written byte by byte from docs/formats.md for the fixtures: records are
/// added in order and go into packs of at most <c>packBytes</c>; <see cref="Write"/> writes each pack's file header
/// (all but the last sealed) and each record's keyed checksum.
/// </summary>
internal sealed class LegacyPacks(string directory, byte version, long packBytes)
{
    private readonly List<(string Path, List<byte[]> Records)> _packs = [];
    private long _used = long.MaxValue / 2; // full: the first record opens the first pack

    /// <summary>Adds a record (header and padded payload, state and checksum left to <see cref="Write"/>); returns its pack and offset.</summary>
    public (string Path, long Offset) Add(byte[] record)
    {
        if (_used + record.Length > packBytes)
        {
            _packs.Add((Path.Combine(directory, "packs", (_packs.Count + 1).ToString("x16") + ".pack"), []));
            _used = 512;
        }

        _packs[^1].Records.Add(record);
        var offset = _used;
        _used += record.Length;
        return (_packs[^1].Path, offset);
    }

    /// <summary>Writes the packs; each record's checksum covers its bytes before <paramref name="checksumAt"/>.</summary>
    public void Write(int checksumAt)
    {
        for (var p = 0; p < _packs.Count; p++)
        {
            var salt = RandomNumberGenerator.GetBytes(16);
            var file = new byte[512];
            "ZTPK"u8.CopyTo(file);
            file[4] = version;
            BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(8), p + 1);
            salt.CopyTo(file, 16);
            SHA256.HashData(file.AsSpan(0, 32))[..8].CopyTo(file, 32); // byte 5 (sealed) is still 0 here
            file[5] = p < _packs.Count - 1 ? (byte)1 : (byte)0;
            using var stream = new FileStream(_packs[p].Path, FileMode.CreateNew);
            stream.Write(file);
            foreach (var record in _packs[p].Records)
            {
                SHA256.HashData([.. salt, .. record.AsSpan(0, checksumAt)])[..8].CopyTo(record, checksumAt); // state byte 5 is 0 here
                record[5] = 1; // live
                stream.Write(record);
            }
        }
    }
}
