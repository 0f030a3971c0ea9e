using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>What a node knows about a stored shard besides its bytes.</summary>
/// <param name="Cid">The file (manifest) the shard belongs to, when known.</param>
/// <param name="OwnerKeyId">SHA-256 of the owner's public key (<see cref="OwnerPublicKey.Id"/>), when known.</param>
/// <param name="ExpiresAt">When the shard may be garbage-collected; null keeps it until deleted.</param>
internal readonly record struct ShardMetadata(Cid? Cid, Sha256Hash? OwnerKeyId, DateTimeOffset? ExpiresAt);
