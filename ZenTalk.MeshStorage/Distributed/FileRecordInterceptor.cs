using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Sits in front of the DHT node on the request path: after the DHT accepted a STORE_VALUE of a file record, the
/// record goes to this node's <see cref="FileIndex"/> (persisted; a tombstone drops the file's shards here before
/// the call is answered, so a delete is done when its tombstone is).
/// </summary>
internal sealed class FileRecordInterceptor(DhtNode dht, FileIndex files) : IRpcRequestHandler
{
    public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var response = await dht.HandleAsync(request, caller, cancellationToken).ConfigureAwait(false);
        if (request.KindCase == Request.KindOneofCase.StoreValue && response.Status is null or { Code: StatusCode.Ok }
            && request.StoreValue.Record is { Type: FileRecords.Type } record)
        {
            await files.AcceptAsync(record, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }
}
