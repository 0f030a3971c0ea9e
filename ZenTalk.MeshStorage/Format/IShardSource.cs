using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// Supplies shards to <see cref="FileDecoder"/>. Sources are untrusted: the decoder checks every shard against the
/// manifest's hash and treats a mismatch like a missing shard.
/// </summary>
internal interface IShardSource
{
    /// <summary>
    /// Fills <paramref name="destination"/> (exactly the shard's length) with shard <paramref name="shard"/> of
    /// segment <paramref name="segment"/>, whose SHA-256 is <paramref name="hash"/>. Returns false when the shard
    /// cannot be had (missing, wrong length, peer down).
    /// </summary>
    ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken);
}
