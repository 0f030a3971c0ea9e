using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Sends a request to a peer and returns its answer. <see cref="RpcClient"/> implements it over TLS/TCP; the
/// simulation harness implements it in memory, so the DHT code above it is the same in both.
/// </summary>
internal interface IMeshTransport
{
    /// <summary>Calls <paramref name="peer"/>. Returns the response when its status is OK.</summary>
    /// <exception cref="TimeoutException">No answer within <paramref name="timeout"/>.</exception>
    /// <exception cref="MeshStorageException">The peer is unreachable, broke the protocol, or answered with an error status.</exception>
    ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Learns the id of the peer at <paramref name="endPoint"/> (bootstrap addresses given without one).</summary>
    /// <exception cref="MeshStorageException">The peer is unreachable or proves a different id than <paramref name="expectedId"/>.</exception>
    ValueTask<NodeId> IdentifyAsync(System.Net.IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken);
}
