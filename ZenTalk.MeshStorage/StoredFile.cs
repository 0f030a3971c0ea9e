namespace ZenTalk.MeshStorage;

/// <summary>A file stored in the mesh: what a reader needs to get it back.</summary>
/// <remarks>
/// To keep a stored file, save its CID (<see cref="Cid.ToString"/>, public) and its content key
/// (<see cref="ContentKey.ExportBase64Url"/>, secret: <see cref="ContentKey.ToString"/> is redacted on purpose); read
/// them back with <see cref="Cid.Parse(string)"/> and <see cref="ContentKey.ImportBase64Url"/>. A record with init
/// properties rather than a positional one, so later versions can add members; two instances are equal when all
/// members are (the key compares in constant time).
/// </remarks>
public sealed record StoredFile
{
    /// <summary>The content identifier (SHA-256 of the signed manifest).</summary>
    public required Cid Cid { get; init; }

    /// <summary>The random key the file is encrypted with; whoever holds it can read the file.</summary>
    public required ContentKey ContentKey { get; init; }

    /// <summary>The plaintext size in bytes.</summary>
    public required long Size { get; init; }
}
