using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// One encoded segment handed to an <see cref="IShardSink"/>: its k + m shards and their hashes, and whether it is the
/// file's last (the encoder reads one segment ahead to seal it, so it knows). The shard memory is the encoder's
/// pooled buffer and is valid only until the sink's call returns; copy what you keep, or take the whole buffer with
/// <see cref="TakeBuffer"/>.
/// </summary>
/// <param name="Index">The segment's index in the file.</param>
/// <param name="ShardSize">Bytes per shard.</param>
/// <param name="Shards">The k + m shards, data first.</param>
/// <param name="Hashes">SHA-256 of each shard.</param>
/// <param name="Last">Whether this is the file's last segment.</param>
/// <param name="TakeBuffer">
/// When set, gives the sink the encoder's buffer that holds the shards (shard j at j × <see cref="ShardSize"/>) instead
/// of a copy: the encoder goes on with a new one, and the sink owns the array and gives it back to
/// <see cref="System.Buffers.ArrayPool{T}.Shared"/> when done. It holds ciphertext and parity only. Callable once,
/// during the sink's call.
/// </param>
internal readonly record struct EncodedSegment(int Index, int ShardSize, ReadOnlyMemory<byte>[] Shards, Sha256Hash[] Hashes, bool Last,
    Func<byte[]>? TakeBuffer = null);
