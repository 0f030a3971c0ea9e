using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF; check value of
/// ASCII "123456789" = 0xE3069283), the checksum of iSCSI, ext4 metadata and Ceph BlueStore. A record's payload
/// carries one so that a holder can check its own disk on every read at a fraction of SHA-256's cost: the
/// <c>crc32</c> instruction (SSE4.2, ARMv8 CRC32) through <see cref="BitOperations.Crc32C(uint, ulong)"/>, about 9 GB/s
/// on the benchmark machine against 1.7 GB/s for SHA-256. It guards against rot, not against an adversary: who
/// reads a shard from another node checks its SHA-256.
/// </summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var word in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
        }

        foreach (var b in data[(words.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
