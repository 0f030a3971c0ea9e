namespace ZenTalk.MeshStorage;

/// <summary>Per-read choices for <see cref="IMeshStore.RetrieveAsync(Cid, ContentKey, RetrieveOptions, CancellationToken)"/>.</summary>
public sealed class RetrieveOptions
{
    /// <summary>
    /// Set only when no one but this reader has ever held the file's content key: the owner reading back its own file,
    /// such as a message store backup. Default false.
    /// </summary>
    /// <remarks>
    /// <para>
    /// When set, a segment whose shards arrive intact is verified by its AES-GCM tag alone, without hashing its shards
    /// against the owner-signed manifest (about a third of a retrieve's CPU, docs/benchmarks.md). A holder without the
    /// key cannot make a tag pass, so a bad shard still never reaches the output: when the tag fails, the segment is read
    /// again with every shard hash-checked, the bad copies are skipped, and the read goes on as a default one would.
    /// </para>
    /// <para>
    /// What it gives up: the shard hashes bind the bytes to the CID; the tag binds them only to the key. Anyone else who
    /// has the key (the sender or a recipient of an attachment) and controls holders could alter a segment and seal it
    /// again, and a reader with this option would take it. Leave it off for any file whose key was shared.
    /// </para>
    /// </remarks>
    public bool SoleKeyHolder { get; init; }
}
