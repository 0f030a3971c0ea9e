using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Serves the shard requests (PUT_SHARD, GET_SHARD, HAS_SHARDS, DELETE_SHARDS). The Distributed layer implements
/// it over the shard store; without one the server answers UNSUPPORTED. Implementations report failures by
/// throwing <see cref="ShardsUnavailableException"/> (not held), <see cref="IntegrityException"/> (hash mismatch),
/// <see cref="UnauthorizedOperationException"/> (bad owner signature), <see cref="QuotaExceededException"/> or
/// <see cref="ArgumentException"/> (malformed request).
/// <para>A PUT_SHARD request's <c>Data</c> may alias a pooled receive buffer (the server does not copy a shard it
/// reads off the wire): it is valid until the returned task completes. An implementation that keeps the bytes
/// must copy them.</para>
/// </summary>
internal interface IShardRequestHandler
{
    ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken);

    ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken);

    ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken);

    ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken);
}
