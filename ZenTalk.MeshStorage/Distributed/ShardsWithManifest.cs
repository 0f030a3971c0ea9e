using System.Collections.Concurrent;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// What a read's manifest round brought besides the manifest: a one-segment file is placed by its CID
/// (<see cref="Placement.SegmentKey(Format.Manifest, int)"/>), so the reader asks the j-th closest node to the CID for shard j
/// in the same FIND_VALUE (<c>FindValueRequest.shard_index</c>), and holders that have it answer with it. The shards are
/// untrusted bytes until the decoder checks them against the verified manifest; each is handed out once. Also remembers which nodes did not answer at all, so the
/// fallback does not wait for them a second time.
/// </summary>
internal sealed class ShardsWithManifest
{
    /// <summary>
    /// The largest shard a holder adds to a FIND_VALUE answer: a one-segment file of the default 1 MiB segments with
    /// k ≥ 5 (a 256 KiB attachment's shards are 26 KiB). Larger shards come by GET_SHARD, which can go straight into
    /// the reader's segment buffer.
    /// </summary>
    public const int MaxShardBytes = 256 * 1024;

    /// <summary>
    /// What a FIND_VALUE answer may hold besides the shard it carries (a one-segment manifest record and k peers take a
    /// few KiB): with the shard, an answer stays within <see cref="MaxShardBytes"/> plus the frame overhead every shard
    /// frame has (<see cref="RpcOptions.FrameOverhead"/>). A holder whose answer would be larger sends it without the shard.
    /// </summary>
    public const int MaxAnswerBytesBesideShard = RpcOptions.FrameOverhead - 1024;

    private readonly ConcurrentDictionary<int, ByteString> _shards = new();
    private readonly ConcurrentDictionary<NodeId, byte> _silent = new();

    /// <summary>Keeps shard <paramref name="index"/> as a node sent it (larger than <see cref="MaxShardBytes"/>: dropped).</summary>
    public void Add(int index, ByteString shard)
    {
        if (shard.Length is > 0 and <= MaxShardBytes) _shards.TryAdd(index, shard);
    }

    /// <summary>A node that did not answer the manifest round (down, cut off, or too slow).</summary>
    public void NoAnswer(NodeId node) => _silent.TryAdd(node, 0);

    /// <summary>Whether <paramref name="node"/> failed to answer the manifest round.</summary>
    public bool DidNotAnswer(NodeId node) => _silent.ContainsKey(node);

    /// <summary>How many shards arrived.</summary>
    public int Count => _shards.Count;

    /// <summary>
    /// Copies shard <paramref name="index"/> into <paramref name="destination"/> and forgets it; false when it did not
    /// come, or came with another length than the manifest gives it (the caller fetches it as usual). The bytes are not
    /// checked here: the decoder checks every shard against the manifest, and a bad one counts as missing.
    /// </summary>
    public bool TryTake(int index, Memory<byte> destination)
    {
        if (!_shards.TryRemove(index, out var shard) || shard.Length != destination.Length) return false;
        shard.Span.CopyTo(destination.Span);
        MeshMetrics.BytesIn.Add(shard.Length);
        return true;
    }
}
