using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.MeshStorage;

/// <summary>
/// Files stored across the mesh: encrypted on this device, erasure-coded, and placed on the nodes closest to each
/// segment. Obtain one from a running <c>MeshNode</c> (which also stores for others) or from a client that joins
/// the mesh without storing.
/// </summary>
/// <remarks>Every method is safe to call concurrently. A retrieval needs only the CID, the content key and one
/// reachable peer: nothing it needs lives only in the memory of the process that stored the file.</remarks>
public interface IMeshStore
{
    /// <summary>
    /// Encrypts <paramref name="content"/> under a fresh random key, erasure-codes each segment, places the shards
    /// on the closest nodes and publishes the owner-signed manifest.
    /// </summary>
    /// <param name="content">The bytes to store, read once from its current position to its end.</param>
    /// <param name="owner">The owner's key: it signs the manifest, and only it can delete the file later.</param>
    /// <param name="options">Expiry, segment size and placement thresholds; defaults when null.</param>
    /// <param name="progress">Receives progress as segments are placed; may be null.</param>
    /// <param name="cancellationToken">Cancels the upload; shards already placed are removed.</param>
    /// <returns>The file's CID, the content key (keep it secret: it is the only way to read the file) and size.</returns>
    /// <exception cref="ShardsUnavailableException">Too few nodes accepted shards for some segment; nothing is left behind.</exception>
    /// <exception cref="MeshStorageException">The mesh could not store the file.</exception>
    Task<StoredFile> StoreAsync(Stream content, OwnerKey owner, StoreOptions? options = null,
        IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the file for reading: finds the manifest by CID, then fetches, verifies, decodes and decrypts one
    /// segment at a time from any sufficient set of shard holders.
    /// </summary>
    /// <param name="cid">The file's content identifier.</param>
    /// <param name="contentKey">The key returned by <see cref="StoreAsync"/>.</param>
    /// <param name="cancellationToken">Cancels opening; the returned stream's reads take their own tokens.</param>
    /// <returns>A readable, non-seekable stream of the plaintext; dispose it when done.</returns>
    /// <exception cref="MeshFileNotFoundException">The file is unknown, expired or deleted.</exception>
    /// <exception cref="ShardsUnavailableException">The file exists, but too few of its holders (or no peer) answer now.</exception>
    /// <exception cref="IntegrityException">The key is wrong or the data fails authentication.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0027", Justification =
        "Shipped in 1.0 with an optional token; the overload with options takes its token explicitly, so no call is ambiguous.")]
    Task<Stream> RetrieveAsync(Cid cid, ContentKey contentKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="RetrieveAsync(Cid, ContentKey, CancellationToken)"/>, with per-read choices; see
    /// <see cref="RetrieveOptions.SoleKeyHolder"/> for the one that makes a read by the file's only key holder cheaper.
    /// </summary>
    /// <param name="cid">The file's content identifier.</param>
    /// <param name="contentKey">The key returned by <see cref="StoreAsync"/>.</param>
    /// <param name="options">How to verify what the holders send.</param>
    /// <param name="cancellationToken">Cancels opening; the returned stream's reads take their own tokens.</param>
    /// <returns>A readable, non-seekable stream of the plaintext; dispose it when done.</returns>
    /// <exception cref="MeshFileNotFoundException">The file is unknown, expired or deleted.</exception>
    /// <exception cref="ShardsUnavailableException">The file exists, but too few of its holders (or no peer) answer now.</exception>
    /// <exception cref="IntegrityException">The key is wrong or the data fails authentication.</exception>
    /// <remarks>An implementation that predates this overload reads with every shard hash-checked, which is always safe.</remarks>
    Task<Stream> RetrieveAsync(Cid cid, ContentKey contentKey, RetrieveOptions options, CancellationToken cancellationToken) =>
        RetrieveAsync(cid, contentKey, cancellationToken);

    /// <summary>Reports, per segment, how many shards are found and verified, which are missing, and the health.</summary>
    /// <param name="cid">The file's content identifier.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The file's status.</returns>
    /// <exception cref="MeshFileNotFoundException">The file is unknown, expired or deleted.</exception>
    /// <exception cref="ShardsUnavailableException">No peer answers the lookup now.</exception>
    Task<MeshFileStatus> GetStatusAsync(Cid cid, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the file everywhere with an owner-signed request; a signed tombstone replaces the manifest so that
    /// repair never brings it back and holders that were offline delete when they learn of it.
    /// </summary>
    /// <param name="cid">The file's content identifier.</param>
    /// <param name="owner">The key that stored the file.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the tombstone is published and reachable holders have deleted.</returns>
    /// <exception cref="UnauthorizedOperationException"><paramref name="owner"/> is not the file's owner.</exception>
    /// <exception cref="MeshFileNotFoundException">No manifest of the file is found (an unknown or expired CID).</exception>
    Task DeleteAsync(Cid cid, OwnerKey owner, CancellationToken cancellationToken = default);

    /// <summary>Re-encrypts the file under a new key as a new CID, then deletes the old one.</summary>
    /// <param name="cid">The file's current content identifier.</param>
    /// <param name="oldKey">The file's current content key.</param>
    /// <param name="owner">The key that stored the file.</param>
    /// <param name="cancellationToken">Cancels the rotation; the old file stays intact until the new one is stored.</param>
    /// <returns>The new CID and key.</returns>
    Task<StoredFile> RotateKeyAsync(Cid cid, ContentKey oldKey, OwnerKey owner, CancellationToken cancellationToken = default);

    /// <summary>Describes this node's view of the mesh: its id, addresses, routing table, peers and stored bytes.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A snapshot of the network state.</returns>
    Task<MeshNetworkInfo> GetNetworkAsync(CancellationToken cancellationToken = default);
}
