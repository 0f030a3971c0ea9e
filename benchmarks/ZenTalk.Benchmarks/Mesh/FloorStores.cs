using System.Globalization;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// The disk floors of the mesh benchmarks: one real shard store per holder, as the 15 nodes of the benchmark mesh
/// have, each in its own directory under a root, so a floor measures the holders' durable puts (hash check, append,
/// fdatasync) with no network, TLS or encoding. Removes the directories again.
/// </summary>
internal sealed class FloorStores : IDisposable
{
    private readonly string _root;

    private FloorStores(string root, ShardStore[] holders)
    {
        _root = root;
        Holders = holders;
    }

    public static async Task<FloorStores> OpenAsync(string parent, int holders = 15)
    {
        var root = Path.Combine(parent, "zentalk-bench-floor-" + Guid.NewGuid().ToString("N"));
        var stores = await Task.WhenAll(Enumerable.Range(0, holders).Select(i => ShardStore.OpenAsync(
            new ShardStoreOptions { Directory = Path.Combine(root, i.ToString(CultureInfo.InvariantCulture)) })));
        return new FloorStores(root, stores);
    }

    /// <summary>One store per holder.</summary>
    public ShardStore[] Holders { get; }

    /// <summary>
    /// Puts <paramref name="shard"/> into holder <paramref name="holder"/> as a new shard: a copy whose first 8 bytes
    /// are <paramref name="tag"/>, so every call stores a new record rather than finding an old one.
    /// </summary>
    public async Task PutAsync(int holder, ReadOnlyMemory<byte> shard, long tag, CancellationToken cancellationToken)
    {
        var copy = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(shard.Length, 8));
        try
        {
            shard.CopyTo(copy);
            BitConverter.TryWriteBytes(copy, tag);
            var data = copy.AsMemory(0, shard.Length);
            await Holders[holder].PutAsync(Sha256Hash.Compute(data.Span), data, default, cancellationToken);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public void Dispose()
    {
        foreach (var store in Holders) store.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
