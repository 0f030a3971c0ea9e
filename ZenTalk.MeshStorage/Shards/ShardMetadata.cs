using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// What layouts 1 to 4 kept about a stored shard besides its bytes. Read from those layouts and turned into one
/// <see cref="ShardHold"/> (<see cref="ShardHold.FromLegacy"/>); layout 5 keeps holds instead.
/// </summary>
/// <param name="Cid">The file (manifest) the shard belongs to, when known (layout 5 does not keep it).</param>
/// <param name="OwnerKeyId">SHA-256 of the owner's public key (<see cref="OwnerPublicKey.Id"/>), when known.</param>
/// <param name="ExpiresAt">When the shard may be garbage-collected; null keeps it until deleted.</param>
internal readonly record struct ShardMetadata(Cid? Cid, Sha256Hash? OwnerKeyId, DateTimeOffset? ExpiresAt);
