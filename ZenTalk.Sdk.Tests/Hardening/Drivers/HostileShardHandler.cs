using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>How a <see cref="HostileShardHandler"/> lies.</summary>
internal enum ShardLie
{
    /// <summary>Honest (but every DELETE_SHARDS it receives is captured, as a wiretapper would).</summary>
    None,

    /// <summary>Serves the shard with one byte flipped.</summary>
    FlipByte,

    /// <summary>Serves the bytes of another shard it holds (a valid shard, just not the one asked for).</summary>
    OtherShard,

    /// <summary>Serves the shard cut short by one byte.</summary>
    Truncate,

    /// <summary>Answers HAS_SHARDS with "yes" for every hash, and serves only what it really has.</summary>
    ClaimEverything,
}

/// <summary>
/// A mesh node's shard handler turned hostile: installed in place of the real one on a node of a
/// <see cref="LocalMesh"/> (<c>node.Network.Router.Shards</c>), so the lies travel over the real protocol and TLS to
/// every peer that asks. Puts and deletes reach the real store; only what the node tells others is false.
/// </summary>
internal sealed class HostileShardHandler(IShardRequestHandler inner) : IShardRequestHandler
{
    private readonly List<DeleteShardsRequest> _captured = [];

    public IShardRequestHandler Inner { get; } = inner;

    public ShardLie Lie { get; set; }

    /// <summary>Every DELETE_SHARDS request this node received, byte for byte, in arrival order.</summary>
    public IReadOnlyList<DeleteShardsRequest> CapturedDeletes
    {
        get
        {
            lock (_captured) return [.. _captured];
        }
    }

    /// <summary>GET_SHARD requests answered with a lie.</summary>
    public int LiesTold => Volatile.Read(ref _lies);

    private int _lies;

    public ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
        Inner.PutShardAsync(request, caller, cancellationToken);

    public async ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        var response = await Inner.GetShardAsync(request, caller, cancellationToken).ConfigureAwait(false);
        var data = response.Data.ToByteArray();
        var other = Lie == ShardLie.OtherShard && Inner is ShardRequestHandler real
            ? await OtherShardOfAsync(real, request, data.Length).ConfigureAwait(false)
            : null;
        switch (Lie)
        {
            case ShardLie.FlipByte when data.Length > 0:
                data[data.Length / 2] ^= 0x01;
                break;
            case ShardLie.Truncate when data.Length > 0:
                data = data[..^1];
                break;
            case ShardLie.OtherShard when other is not null:
                // A valid shard under its own hash (same length when the node has one): only the hash check catches it.
                data = other;
                break;
            default:
                return response;
        }

        Interlocked.Increment(ref _lies);
        return new GetShardResponse { Data = ByteString.CopyFrom(data), TotalSize = (ulong)data.Length };
    }

    public async ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        if (Lie != ShardLie.ClaimEverything) return await Inner.HasShardsAsync(request, caller, cancellationToken).ConfigureAwait(false);
        var response = new HasShardsResponse();
        foreach (var _ in request.ShardHashes) response.Present.Add(true);
        return response;
    }

    public ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        lock (_captured) _captured.Add(request.Clone());
        return Inner.DeleteShardsAsync(request, caller, cancellationToken);
    }

    /// <summary>Installs a hostile handler on <paramref name="node"/> (a storing node) and returns it.</summary>
    public static HostileShardHandler Install(MeshNode node, ShardLie lie)
    {
        var router = node.Network.Router;
        var real = router.Shards is HostileShardHandler h ? h.Inner : router.Shards ?? throw new ArgumentException("The node stores nothing.", nameof(node));
        var hostile = new HostileShardHandler(real) { Lie = lie };
        router.Shards = hostile;
        return hostile;
    }

    /// <summary>Puts the node's real handler back.</summary>
    public static void Remove(MeshNode node)
    {
        if (node.Network.Router.Shards is HostileShardHandler h) node.Network.Router.Shards = h.Inner;
    }

    private static async Task<byte[]?> OtherShardOfAsync(ShardRequestHandler real, GetShardRequest request, int length)
    {
        var asked = new Sha256Hash(request.ShardHash.Span);
        var others = real.Store.List().Where(i => i.Hash != asked).ToList();
        var pick = others.FirstOrDefault(i => i.Length == length) ?? others.FirstOrDefault();
        return pick is null ? null : await real.Store.GetAsync(pick.Hash).ConfigureAwait(false);
    }
}
