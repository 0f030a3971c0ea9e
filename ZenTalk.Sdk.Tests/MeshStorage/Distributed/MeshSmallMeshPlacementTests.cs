using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// In a mesh of fewer storing nodes than a lookup returns, one segment's lookup that saw the whole mesh places the
/// store's later segments (<see cref="WholeMeshView"/>): the shards must land exactly where each segment's own lookup
/// would put them (readers look there first), and a node of the view that goes away must cost no shard.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshSmallMeshPlacementTests
{
    private const int Nodes = 6;
    private const int SegmentSize = 64 * 1024;

    [Test]
    public async Task Every_segments_shards_sit_on_its_closest_nodes_while_only_the_first_segments_look_them_up(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(Nodes, MeshTestData.FastOptions(SegmentSize), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        const int segments = 32;
        var data = MeshTestData.Bytes((segments * SegmentSize) - 1000, 51);
        using var served = new RpcKindCounts();
        var stored = await mesh.Nodes[0].Store.StoreAsync(new MemoryStream(data), owner, cancellationToken: cancellationToken);

        // Only the segments placed before any lookup had finished (at most SegmentsInFlight), and the manifest's, looked
        // up their keys: each lookup asks the 5 other nodes, (8 + 1) × 5 in all. A lookup per segment would ask 33 × 5.
        // (Twice the bound leaves room for requests that time out on a loaded machine and go again.)
        int inFlight = new DistributedOptions().SegmentsInFlight;
        Assert.That(served["FindNode"], Is.LessThan(2 * (inFlight + 1) * (Nodes - 1)));

        var manifest = await mesh.Nodes[0].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(segments));
        for (int s = 0; s < manifest.SegmentCount; s++)
        {
            var key = Placement.SegmentKey(manifest, s);
            var closest = mesh.Nodes.OrderBy(n => key.DistanceTo(n.Id)).ToList();
            for (int j = 0; j < manifest.TotalShards; j++)
            {
                Assert.That(closest[j % Nodes].Shards!.Contains(manifest.ShardHash(s, j)), Is.True,
                    $"segment {s}, shard {j} sits on the {j % Nodes}-th closest node, as a lookup of the segment's key places it");
            }
        }

        var back = await MeshTestData.ReadAllAsync(await mesh.Nodes[5].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public async Task A_node_that_stops_during_a_store_gets_none_of_the_later_segments_shards_and_none_is_lost(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(Nodes, MeshTestData.FastOptions(SegmentSize), cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        const int segments = 20, before = 10;
        var data = MeshTestData.Bytes(segments * SegmentSize, 52);
        var stream = new GatedStream(data, before * SegmentSize);
        int done = 0;
        var progress = new Progress<TransferProgress>(p => Volatile.Write(ref done, p.SegmentsCompleted));
        var storing = mesh.Nodes[0].Store.StoreAsync(stream, owner, progress: progress, cancellationToken: cancellationToken);

        // A first segment is placed (its lookup saw the whole mesh); then a node goes away for good. Every segment from
        // the gate on is read, and placed, after that.
        await stream.Reached.WaitAsync(cancellationToken);
        for (int i = 0; i < 600 && Volatile.Read(ref done) == 0; i++) await Task.Delay(50, cancellationToken);
        Assert.That(Volatile.Read(ref done), Is.Positive, "a segment before the gate was placed");
        await mesh.StopNodeAsync(3);
        stream.Open();
        var stored = await storing;

        // Every segment placed after the stop has all its shards on the live nodes: the puts that failed on the stopped
        // node went where a fresh lookup put them, as if no segment had used the earlier lookup's view.
        var manifest = await mesh.Nodes[0].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        var live = mesh.Nodes.Where((_, i) => i != 3).ToList();
        for (int s = before; s < manifest.SegmentCount; s++)
        {
            for (int j = 0; j < manifest.TotalShards; j++)
            {
                var hash = manifest.ShardHash(s, j);
                Assert.That(live.Count(n => n.Shards!.Contains(hash)), Is.Positive, $"segment {s}, shard {j} is on a live node");
            }
        }

        var back = await MeshTestData.ReadAllAsync(await mesh.Nodes[4].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public void A_view_is_taken_only_from_an_exhaustive_lookup_and_lasts_its_lifetime_or_until_forgotten()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var view = new WholeMeshView(time);
        var nodes = Enumerable.Range(0, 5).Select(i => new ZenTalk.MeshStorage.Rpc.PeerContact(NodeId.Random(new Random(i)), new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 1000 + i))).ToList();
        var key = NodeId.Random(new Random(99));
        view.Learn(new ZenTalk.MeshStorage.Dht.LookupResult { Closest = nodes, Complete = true, Exhaustive = false });
        Assert.That(view.Closest(key), Is.Null, "a lookup that may have missed nodes is no view");

        view.Learn(new ZenTalk.MeshStorage.Dht.LookupResult { Closest = nodes, Complete = true, Exhaustive = true });
        Assert.That(view.Closest(key)!.Select(n => n.Id), Is.EqualTo(nodes.Select(n => n.Id).OrderBy(id => key.DistanceTo(id))));
        time.Advance(WholeMeshView.Lifetime);
        Assert.That(view.Closest(key), Is.Not.Null);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(view.Closest(key), Is.Null, "too old");

        view.Learn(new ZenTalk.MeshStorage.Dht.LookupResult { Closest = nodes, Complete = true, Exhaustive = true });
        view.Forget();
        Assert.That(view.Closest(key), Is.Null);
    }

    /// <summary>Hands out <c>data</c> up to <c>gate</c> bytes, then waits for <see cref="Open"/>.</summary>
    private sealed class GatedStream(byte[] data, int gate) : ReadOnlySourceStream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reached => _reached.Task;

        public void Open() => _open.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Consumed == gate)
            {
                _reached.TrySetResult();
                await _open.Task.WaitAsync(cancellationToken);
            }

            return Read(buffer.Span);
        }

        public override int Read(Span<byte> buffer)
        {
            int limit = Consumed < gate || !_open.Task.IsCompleted ? gate : data.Length;
            int n = Math.Min(buffer.Length, limit - (int)Consumed);
            data.AsSpan((int)Consumed, n).CopyTo(buffer);
            Consumed += n;
            return n;
        }
    }
}
