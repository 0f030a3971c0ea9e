using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>A shard handler over a dictionary, checking hashes like a real store would.</summary>
internal sealed class InMemoryShardHandler : IShardRequestHandler
{
    public ConcurrentDictionary<string, ByteString> Shards { get; } = new();

    public ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        if (!SHA256.HashData(request.Data.Span).AsSpan().SequenceEqual(request.ShardHash.Span))
            throw new IntegrityException("The shard's bytes do not hash to its name.");
        // Copied: the request's bytes may alias the server's receive buffer, valid only until this call returns.
        bool existed = !Shards.TryAdd(Convert.ToHexString(request.ShardHash.Span), ByteString.CopyFrom(request.Data.Span));
        return ValueTask.FromResult(new PutShardResponse { AlreadyPresent = existed });
    }

    public ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        if (!Shards.TryGetValue(Convert.ToHexString(request.ShardHash.Span), out var data))
            throw new ShardsUnavailableException("This node does not hold the shard.");
        return ValueTask.FromResult(new GetShardResponse { Data = data, TotalSize = (ulong)data.Length });
    }

    public ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var r = new HasShardsResponse();
        foreach (var h in request.ShardHashes) r.Present.Add(Shards.ContainsKey(Convert.ToHexString(h.Span)));
        return ValueTask.FromResult(r);
    }

    public ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
        throw new UnauthorizedOperationException("This test handler accepts no deletes.");
}
