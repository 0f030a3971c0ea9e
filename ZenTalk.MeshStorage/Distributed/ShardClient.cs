using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>The owner's authority a put carries (exactly one is set, <see cref="ShardAdmission"/>).</summary>
/// <param name="Record">The file's manifest record.</param>
/// <param name="FileCid">The CID digest of a manifest the holder already has.</param>
/// <param name="Delegation">The owner's delegation to this node (the sender).</param>
internal readonly record struct PutAuthority(ValueRecord? Record = null, ByteString? FileCid = null, StoreDelegation? Delegation = null);

/// <summary>How a shard fetch from one holder ended (<see cref="ShardClient.FetchAsync"/>).</summary>
internal enum ShardFetch
{
    /// <summary>The shard's bytes arrived (and matched its hash, when checked).</summary>
    Fetched,

    /// <summary>The holder answered: it has no such shard, or its bytes were not the shard's.</summary>
    Refused,

    /// <summary>No answer: the shard may be there.</summary>
    NoAnswer,
}

/// <summary>
/// Shard and record calls to one holder: over RPC for peers, straight to the local handler when the holder is this
/// node. Every call has the shard deadline; failures come back as false/null (the caller tries another holder),
/// never as exceptions, except cancellation by the caller.
/// </summary>
internal sealed class ShardClient
{
    private readonly RpcClient _rpc;
    private readonly PeerContact _self;
    private readonly ShardRequestHandler? _local;
    private readonly Func<ValueRecord, CancellationToken, Task<bool>> _storeLocalRecord;
    private readonly DistributedOptions _options;
    private readonly RpcCallContext _selfCaller;

    public ShardClient(RpcClient rpc, PeerContact self, ShardRequestHandler? local,
        Func<ValueRecord, CancellationToken, Task<bool>> storeLocalRecord, DistributedOptions options)
    {
        _rpc = rpc;
        _self = self;
        _local = local;
        _storeLocalRecord = storeLocalRecord;
        _options = options;
        _selfCaller = new RpcCallContext(self.Id, self.EndPoint.Address, self.EndPoint.Port);
    }

    public bool IsSelf(PeerContact peer) => peer.Id == _self.Id;

    /// <summary>Deadline of one shard call.</summary>
    public TimeSpan ShardTimeout => _options.ShardTimeout;

    /// <summary>Puts a shard under the owner's <paramref name="authority"/>; false when the peer refused it or did not answer.</summary>
    public async Task<bool> PutAsync(PeerContact peer, Sha256Hash hash, ReadOnlyMemory<byte> data, PutAuthority authority, CancellationToken cancellationToken)
    {
        var request = new PutShardRequest
        {
            ShardHash = ByteString.CopyFrom(hash.ToArray()),
            Data = UnsafeByteOperations.UnsafeWrap(data),
            FileRecord = authority.Record,
            FileCid = authority.FileCid ?? ByteString.Empty,
            Delegation = authority.Delegation,
        };
        try
        {
            if (IsSelf(peer))
            {
                if (_local is null) return false;
                await _local.PutShardAsync(request, _selfCaller, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _rpc.CallAsync(peer.EndPoint, peer.Id, new Request { PutShard = request }, _options.ShardTimeout, cancellationToken).ConfigureAwait(false);
            }

            MeshMetrics.BytesOut.Add(data.Length);
            return true;
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>
    /// Fetches a shard into <paramref name="destination"/>; false when missing, late or (with <paramref name="verify"/>)
    /// not matching its hash. Callers that check the hash themselves (the file decoder does) pass false.
    /// </summary>
    public async Task<bool> GetAsync(PeerContact peer, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken, bool verify = true) =>
        await FetchAsync(peer, hash, destination, cancellationToken, verify).ConfigureAwait(false) == ShardFetch.Fetched;

    /// <summary>
    /// As <see cref="GetAsync"/>, saying why a shard did not come: the peer answered that it has no such shard or sent
    /// other bytes (<see cref="ShardFetch.Refused"/>), or it did not answer at all (<see cref="ShardFetch.NoAnswer"/>:
    /// a timeout, a connection that failed, a malformed or busy answer), when the shard may well be there.
    /// </summary>
    public async Task<ShardFetch> FetchAsync(PeerContact peer, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken, bool verify = true)
    {
        try
        {
            ReadOnlyMemory<byte> data;
            if (IsSelf(peer))
            {
                if (_local is null) return ShardFetch.Refused;
                var response = await _local.GetShardAsync(new GetShardRequest { ShardHash = ByteString.CopyFrom(hash.ToArray()) }, _selfCaller, cancellationToken).ConfigureAwait(false);
                data = response.Data.Memory;
            }
            else
            {
                data = await _rpc.GetShardAsync(peer, hash.ToArray(), destination, _options.ShardTimeout, cancellationToken).ConfigureAwait(false);
            }

            if (data.Length != destination.Length) return ShardFetch.Refused;
            if (!data.Span.Overlaps(destination.Span, out int offset) || offset != 0) data.CopyTo(destination);
            if (verify && !hash.Matches(destination.Span))
            {
                MeshMetrics.ShardsRejected.Add(1);
                return ShardFetch.Refused;
            }

            MeshMetrics.BytesIn.Add(data.Length);
            return ShardFetch.Fetched;
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            return e is ShardsUnavailableException or IntegrityException ? ShardFetch.Refused : ShardFetch.NoAnswer;
        }
    }

    /// <summary>Which of <paramref name="hashes"/> the peer holds; null when it did not answer.</summary>
    public async Task<bool[]?> HasAsync(PeerContact peer, IReadOnlyList<Sha256Hash> hashes, CancellationToken cancellationToken)
    {
        var request = new HasShardsRequest();
        foreach (var h in hashes) request.ShardHashes.Add(ByteString.CopyFrom(h.ToArray()));
        try
        {
            HasShardsResponse response;
            if (IsSelf(peer))
            {
                if (_local is null) return null;
                response = await _local.HasShardsAsync(request, _selfCaller, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                response = (await _rpc.CallAsync(peer.EndPoint, peer.Id, new Request { HasShards = request }, _options.ShardTimeout, cancellationToken).ConfigureAwait(false)).HasShards;
            }

            return response is not null && response.Present.Count == hashes.Count ? [.. response.Present] : null;
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>Sends a signed delete; returns the number of shards the peer deleted, or null when it failed.</summary>
    public async Task<uint?> DeleteAsync(PeerContact peer, DeleteShardsRequest request, CancellationToken cancellationToken)
    {
        try
        {
            if (IsSelf(peer))
            {
                if (_local is null) return null;
                return (await _local.DeleteShardsAsync(request, _selfCaller, cancellationToken).ConfigureAwait(false)).Deleted;
            }

            var response = await _rpc.CallAsync(peer.EndPoint, peer.Id, new Request { DeleteShards = request }, _options.ShardTimeout, cancellationToken).ConfigureAwait(false);
            return response.DeleteShards?.Deleted;
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>Stores a record at one node (STORE_VALUE); true when it accepted it.</summary>
    public async Task<bool> StoreRecordAsync(PeerContact peer, ValueRecord record, CancellationToken cancellationToken)
    {
        try
        {
            if (IsSelf(peer)) return await _storeLocalRecord(record, cancellationToken).ConfigureAwait(false);
            await _rpc.CallAsync(peer.EndPoint, peer.Id, new Request { StoreValue = new StoreValueRequest { Record = record } },
                _options.RecordTimeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (Failed(e, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>Any failure of one peer is that peer's problem, except the caller's own cancellation.</summary>
    private static bool Failed(Exception e, CancellationToken cancellationToken) =>
        e is not OperationCanceledException || !cancellationToken.IsCancellationRequested;
}
