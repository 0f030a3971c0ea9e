using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Serves PUT_SHARD, GET_SHARD, HAS_SHARDS and DELETE_SHARDS over this node's <see cref="ShardStore"/>. Shards are
/// content-addressed and hash-checked on the way in and out. A put is kept only on its owner's signed authority
/// (<see cref="ShardAdmission"/>), as a hold for that owner with the expiry the owner signed, accounted to the owner,
/// the sending peer and its address prefix; deletes need the owner's signature (<see cref="DeleteAuthorization"/>) and
/// drop only that owner's holds; shards of a file this node knows to be deleted are refused, so neither a late upload
/// nor repair can bring them back.
/// </summary>
internal sealed class ShardRequestHandler : IShardRequestHandler, IDisposable
{
    private readonly ShardStore _store;
    private readonly FileIndex _files;
    private readonly ShardAdmission _admission;
    private readonly DeleteAuthorization _deletes;
    private readonly int _maxShardSize;
    private readonly TimeProvider _time;

    public ShardRequestHandler(ShardStore store, FileIndex files, DeleteAuthorization deletes, int maxShardSize, TimeProvider time)
    {
        _store = store;
        _files = files;
        _admission = new ShardAdmission(files, time);
        _deletes = deletes;
        _maxShardSize = maxShardSize;
        _time = time;
    }

    /// <summary>
    /// Validates a file record and keeps it durably, as a STORE_VALUE would (set once the DHT exists). A PUT_SHARD that
    /// carries the file's manifest record is answered only when both the shard and the record are durable.
    /// </summary>
    public Func<ValueRecord, CancellationToken, Task>? AcceptRecord { get; set; }

    /// <summary>Test knob: serve every shard with one byte flipped, as a malicious or broken holder would.</summary>
    public bool CorruptServedShards { get; set; }

    public ShardStore Store => _store;

    public async ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var hash = HashOf(request.ShardHash);
        if (request.Data.Length > _maxShardSize)
            throw new ArgumentException($"The shard is {request.Data.Length} bytes; this node takes at most {_maxShardSize}.", nameof(request));
        if (_files.IsDeletedShard(hash))
            throw new UnauthorizedOperationException($"Shard {hash} belongs to a file its owner deleted; it is not stored again.");
        // Before any byte is written: nothing of a put without valid authority is kept.
        var authority = _admission.Authorize(request, hash, request.Data.Length, caller.RemoteId);
        Task? accepting = null;
        if (request.FileRecord is { } record)
        {
            // The record was checked (signature, CID) by the admission; only its durable append is still running
            // when the shard's write starts, so the two flushes overlap. A bad record refuses the whole put.
            accepting = (AcceptRecord ?? throw new InvalidOperationException("This node does not keep file records."))(record, cancellationToken);
            if (accepting.IsFaulted) await accepting.ConfigureAwait(false);
        }

        var hold = new ShardHold(authority.Owner, authority.ExpiresAt, _time.GetUtcNow(), caller.RemoteId, AddressPrefix.Of(caller.RemoteAddress).ToUInt128());
        bool added = await _store.PutAsync(hash, request.Data.Memory, hold, cancellationToken).ConfigureAwait(false);
        if (accepting is not null) await accepting.ConfigureAwait(false);
        return new PutShardResponse { AlreadyPresent = !added };
    }

    public async ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var hash = HashOf(request.ShardHash);
        // Read into a pooled array that the server gives back once the answer is written (ResponseLeases).
        var (data, size) = await _store.RentAsync(hash, cancellationToken).ConfigureAwait(false)
            ?? throw new ShardsUnavailableException($"This node does not hold shard {hash}.");
        if (CorruptServedShards && size > 0) data[0] ^= 0xFF;
        int offset = (int)Math.Min(request.Offset, (ulong)size);
        int length = request.Length == 0 ? size - offset : (int)Math.Min(request.Length, (ulong)(size - offset));
        var response = new GetShardResponse
        {
            Data = UnsafeByteOperations.UnsafeWrap(data.AsMemory(offset, length)),
            TotalSize = (ulong)size,
        };
        ResponseLeases.Attach(response, data);
        return response;
    }

    /// <summary>
    /// Adds shard <paramref name="index"/> to a FIND_VALUE answer that carries <paramref name="record"/>, when the record
    /// is the manifest of a one-segment file this node holds live, the index is one of its shards, this node holds that
    /// shard, and it is small enough (<see cref="ShardsWithManifest.MaxShardBytes"/>, and the answer within this node's
    /// frame limit). Otherwise the answer goes without it: nothing is served that the node does not hold, nor for a file
    /// it holds no manifest of.
    /// </summary>
    public async ValueTask AttachShardAsync(FindValueResponse answer, ValueRecord record, uint index, CancellationToken cancellationToken)
    {
        if (!FileRecords.IsManifest(record) || record.Key.Length != Sha256Hash.Size) return;
        var manifest = _files.LiveManifest(Cid.FromDigest(new Sha256Hash(record.Key.Span)));
        if (manifest is not { SegmentCount: 1 } || index >= (uint)manifest.TotalShards) return;
        var hash = manifest.ShardHash(0, (int)index);
        if (_store.GetInfo(hash) is not { } info || info.Length > Math.Min(ShardsWithManifest.MaxShardBytes, _maxShardSize)
            || answer.CalculateSize() > ShardsWithManifest.MaxAnswerBytesBesideShard) return;
        // Read into a pooled array that the server gives back once the answer is written, as for GET_SHARD.
        if (await _store.RentAsync(hash, cancellationToken).ConfigureAwait(false) is not { } rented) return;
        var (data, size) = rented;
        if (CorruptServedShards && size > 0) data[0] ^= 0xFF;
        answer.Shard = UnsafeByteOperations.UnsafeWrap(data.AsMemory(0, size));
        ResponseLeases.Attach(answer, data);
    }

    public ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var response = new HasShardsResponse();
        foreach (var h in request.ShardHashes)
            response.Present.Add(h.Length == Sha256Hash.Size && _store.Contains(new Sha256Hash(h.Span)));
        return ValueTask.FromResult(response);
    }

    public async ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var owner = _deletes.Verify(request);
        // Only this owner's holds: anyone can sign a request, but not with the owner's key. A shard another owner
        // also holds stays for that owner.
        var held = request.ShardHashes.Select(h => new Sha256Hash(h.Span)).Where(h => _store.GetInfo(h)?.HoldOf(owner) is not null).ToList();
        if (held.Count == 0) return new DeleteShardsResponse();
        await _deletes.PersistAsync(request, cancellationToken).ConfigureAwait(false);
        uint deleted = 0;
        foreach (var hash in held)
            if (await _store.ReleaseAsync(hash, owner, cancellationToken).ConfigureAwait(false)) deleted++;

        if (deleted > 0) MeshMetrics.ShardsDropped.Add(deleted);
        return new DeleteShardsResponse { Deleted = deleted };
    }

    /// <summary>Closes the delete nonce log.</summary>
    public void Dispose() => _deletes.Dispose();

    private static Sha256Hash HashOf(ByteString bytes) => bytes.Length == Sha256Hash.Size
        ? new Sha256Hash(bytes.Span)
        : throw new ArgumentException("A shard hash is 32 bytes (SHA-256).", nameof(bytes));
}
