using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Sits in front of the DHT node on the request path: after the DHT accepted a STORE_VALUE of a file record, the
/// record goes to this node's <see cref="FileIndex"/> (persisted; a tombstone drops the file's shards here before
/// the call is answered, so a delete is done when its tombstone is). A FIND_VALUE that asks for a shard and is answered
/// with a file's manifest gets the shard too, when this node holds it (<see cref="ShardRequestHandler.AttachShardAsync"/>).
/// </summary>
internal sealed class FileRecordInterceptor(DhtNode dht, FileIndex files, ShardRequestHandler shards) : IRpcRequestHandler
{
    public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var response = await dht.HandleAsync(request, caller, cancellationToken).ConfigureAwait(false);
        if (response.Status is not (null or { Code: StatusCode.Ok })) return response;
        if (request.KindCase == Request.KindOneofCase.StoreValue && request.StoreValue.Record is { Type: FileRecords.Type } record)
        {
            await files.AcceptAsync(record, cancellationToken).ConfigureAwait(false);
        }
        else if (request.KindCase == Request.KindOneofCase.FindValue && request.FindValue.HasShardIndex
                 && response.FindValue is { Record: { Type: FileRecords.Type } found } answer)
        {
            await shards.AttachShardAsync(answer, found, request.FindValue.ShardIndex, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }
}
