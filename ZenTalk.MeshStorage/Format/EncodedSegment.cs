using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// One encoded segment handed to an <see cref="IShardSink"/>: its k + m shards and their hashes, and whether it is the
/// file's last (the encoder reads one segment ahead to seal it, so it knows). The shard memory is the encoder's
/// pooled buffer and is valid only until the sink's call returns; copy what you keep.
/// </summary>
internal readonly record struct EncodedSegment(int Index, int ShardSize, ReadOnlyMemory<byte>[] Shards, Sha256Hash[] Hashes, bool Last);
