using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>Answers requests that arrive over the wire (or over the in-memory simulation transport).</summary>
internal interface IRpcRequestHandler
{
    /// <summary>Handles one request. Errors are reported through <see cref="Response.Status"/> or by throwing
    /// one of the mesh exceptions, which the server maps to a status code.</summary>
    ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken);
}
