using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Deterministic test content and helpers to find where a file's shards live.</summary>
internal static class MeshTestData
{
    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            return copy.ToArray();
        }
    }

    /// <summary>Options for test clusters: short deadlines, no background repair (tests run passes explicitly).</summary>
    public static LocalMeshOptions FastOptions(int segmentSize = 64 * 1024) => new()
    {
        Node = { Coding = { SegmentSize = segmentSize }, Repair = { Interval = Timeout.InfiniteTimeSpan } },
        FastTimeouts = true,
    };

    /// <summary>Every shard hash of the file.</summary>
    public static async Task<List<Sha256Hash>> ShardHashesAsync(MeshNode node, Cid cid)
    {
        var manifest = await node.MeshStore.FindManifestAsync(cid, CancellationToken.None);
        var hashes = new List<Sha256Hash>();
        for (int s = 0; s < manifest.SegmentCount; s++)
            for (int j = 0; j < manifest.TotalShards; j++)
                hashes.Add(manifest.ShardHash(s, j));
        return hashes;
    }

    /// <summary>How many of <paramref name="hashes"/> each node's shard store holds (0 for clients).</summary>
    public static int CountHeld(MeshNode node, IEnumerable<Sha256Hash> hashes) =>
        node.Shards is { } store ? hashes.Count(store.Contains) : 0;

    /// <summary>Shard indexes of a segment that some node in <paramref name="nodes"/> holds with the right bytes (read from disk).</summary>
    public static async Task<int> ValidShardsHeldAsync(IEnumerable<MeshNode> nodes, Manifest m, int segment)
    {
        int valid = 0;
        for (int j = 0; j < m.TotalShards; j++)
        {
            var hash = m.ShardHash(segment, j);
            foreach (var node in nodes)
            {
                if (node.Shards is { } store && store.Contains(hash) && await store.GetAsync(hash) is { } bytes && hash.Matches(bytes))
                {
                    valid++;
                    break;
                }
            }
        }

        return valid;
    }

    /// <summary>Indexes (in <see cref="LocalMesh.Nodes"/>) of the nodes holding a shard of segment <paramref name="segment"/>.</summary>
    public static async Task<List<int>> HolderIndexesAsync(LocalMesh mesh, MeshNode asker, Cid cid, int segment = 0)
    {
        var status = await asker.Store.GetStatusAsync(cid);
        var ids = status.Segments[segment].Holders.Select(h => h.Node).ToHashSet();
        return Enumerable.Range(0, mesh.Nodes.Count).Where(i => ids.Contains(mesh.Nodes[i].Id)).ToList();
    }

    /// <summary>Records progress reports synchronously (Progress&lt;T&gt; would post them later).</summary>
    public sealed class ProgressLog : IProgress<TransferProgress>
    {
        private readonly List<TransferProgress> _reports = [];

        public IReadOnlyList<TransferProgress> Reports
        {
            get
            {
                lock (_reports) return [.. _reports];
            }
        }

        public void Report(TransferProgress value)
        {
            lock (_reports) _reports.Add(value);
        }
    }
}
