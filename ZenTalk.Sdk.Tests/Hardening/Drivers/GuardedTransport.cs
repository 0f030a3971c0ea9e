using System.Collections.Concurrent;
using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Sits between a node's DHT and its real transport and counts every call it is asked to make, by address. Calls to
/// loopback go through; a call to any other address is counted and refused here, without sending a packet: a test
/// whose attacker names 10.x or multicast hosts sees whether the node tried to reach them, and the network rule
/// (loopback only) holds whatever the node does.
/// </summary>
internal sealed class GuardedTransport(IMeshTransport inner) : IMeshTransport
{
    private readonly ConcurrentDictionary<IPEndPoint, int> _calls = new();
    private int _refused;

    /// <summary>Calls asked for, per endpoint (loopback and refused ones alike).</summary>
    public IReadOnlyDictionary<IPEndPoint, int> Calls => _calls;

    /// <summary>Calls to non-loopback addresses the node asked for (all refused here, none sent).</summary>
    public int Refused => Volatile.Read(ref _refused);

    public ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Count(peer.EndPoint);
        if (!IPAddress.IsLoopback(peer.EndPoint.Address))
        {
            Interlocked.Increment(ref _refused);
            return ValueTask.FromException<Response>(new ProtocolException($"Test guard: no call leaves loopback ({peer.EndPoint})."));
        }
        return inner.CallAsync(peer, request, timeout, cancellationToken);
    }

    public ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Count(endPoint);
        if (!IPAddress.IsLoopback(endPoint.Address))
        {
            Interlocked.Increment(ref _refused);
            return ValueTask.FromException<NodeId>(new ProtocolException($"Test guard: no call leaves loopback ({endPoint})."));
        }
        return inner.IdentifyAsync(endPoint, expectedId, timeout, cancellationToken);
    }

    private void Count(IPEndPoint endPoint) => _calls.AddOrUpdate(endPoint, 1, (_, n) => n + 1);
}
