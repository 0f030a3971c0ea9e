using System.Buffers;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Pooled arrays that shard-carrying answers (GET_SHARD, and FIND_VALUE with a shard) alias: a handler that read the
/// shard into an array rented from <see cref="ArrayPool{T}.Shared"/> attaches it to its response, and the server returns
/// it once the answer's bytes are out of it (<see cref="FrameWriter.Released"/>). An answer that is never written (the
/// connection closed, the handler was wrapped and its answer replaced) keeps its array until the garbage collector takes
/// both: never returned while something may still read it.
/// </summary>
internal static class ResponseLeases
{
    private static readonly ConditionalWeakTable<IMessage, byte[]> Leases = new();

    public static void Attach(GetShardResponse response, byte[] rented) => Leases.AddOrUpdate(response, rented);

    public static void Attach(FindValueResponse response, byte[] rented) => Leases.AddOrUpdate(response, rented);

    /// <summary>Called with each frame whose bytes were copied out or written: gives its shard's array back to the pool.</summary>
    public static void ReturnWritten(Frame frame)
    {
        IMessage? answer = frame.Response is { } response ? (IMessage?)response.GetShard ?? response.FindValue : null;
        if (answer is not null && Leases.TryGetValue(answer, out var rented) && Leases.Remove(answer))
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
