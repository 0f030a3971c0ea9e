using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage;

/// <summary>A file stored in the mesh: what a reader needs to get it back.</summary>
/// <param name="Cid">The content identifier (SHA-256 of the signed manifest).</param>
/// <param name="ContentKey">The random key the file is encrypted with; whoever holds it can read the file.</param>
/// <param name="Size">The plaintext size in bytes.</param>
public sealed record StoredFile(Cid Cid, ContentKey ContentKey, long Size);
