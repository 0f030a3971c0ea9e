using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>Maps between status codes on the wire and the mesh exceptions.</summary>
internal static class RpcStatus
{
    public static Response Error(StatusCode code, string message) =>
        new() { Status = new Status { Code = code, Message = message } };

    /// <summary>The status a handler exception is reported as. Unexpected exceptions do not leak their text.</summary>
    public static Response FromException(Exception ex) => ex switch
    {
        ShardsUnavailableException => Error(StatusCode.NotFound, ex.Message),
        IntegrityException => Error(StatusCode.Integrity, ex.Message),
        UnauthorizedOperationException => Error(StatusCode.Unauthorized, ex.Message),
        QuotaExceededException => Error(StatusCode.QuotaExceeded, ex.Message),
        ArgumentException => Error(StatusCode.InvalidArgument, ex.Message),
        ProtocolException => Error(StatusCode.InvalidArgument, ex.Message),
        OperationCanceledException or TimeoutException => Error(StatusCode.DeadlineExceeded, "The request's deadline passed on the server."),
        _ => Error(StatusCode.Internal, "The peer failed while handling the request."),
    };

    /// <summary>The exception a non-OK response becomes on the calling side.</summary>
    public static Exception ToException(Status status, string peer)
    {
        string text = $"Peer {peer} answered {status.Code}: {status.Message}";
        return status.Code switch
        {
            StatusCode.NotFound => new ShardsUnavailableException(text),
            StatusCode.Integrity => new IntegrityException(text),
            StatusCode.Unauthorized => new UnauthorizedOperationException(text),
            StatusCode.QuotaExceeded => new QuotaExceededException(text),
            StatusCode.DeadlineExceeded => new TimeoutException(text),
            StatusCode.Busy => new MeshStorageException(text + " (busy: retry later or use another peer)") { IsTransient = true },
            _ => new ProtocolException(text),
        };
    }
}
