using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.Hardening.Faults;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>The fault proxy itself, on three real nodes: each fault does what it says and goes away when cleared.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class FaultNetworkTests
{
    private FaultNetwork _network = null!;
    private LocalMesh _mesh = null!;

    // One mesh for all tests (starting nodes is the slow part); each test starts and ends with no faults.
    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _network = new FaultNetwork(seed: 5);
        var options = MeshTestData.FastOptions();
        options.OutboundTransportFor = _network.HookFor;
        _mesh = await LocalMesh.StartAsync(3, options);
        _network.Learn(_mesh);
    }

    [OneTimeTearDown]
    public async Task StopMesh() => await _mesh.DisposeAsync();

    [TearDown]
    public void ClearFaults() => _network.ClearAll();

    private Task<bool> PingAsync(int from, int to) =>
        _mesh.Nodes[from].Network.Dht.PingAsync(_mesh.Nodes[to].Network.Contact, CancellationToken.None);

    // A connection reset by a fault leaves the pool when its reader notices: the call right after may still pick it.
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> call)
    {
        for (int i = 0; i < 5; i++)
        {
            if (await call()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Test]
    public async Task A_reset_partition_cuts_the_isolated_node_off_both_ways_and_healing_reconnects(CancellationToken cancellationToken)
    {
        Assert.That(await PingAsync(1, 2), Is.True);
        _network.Partition([2], PartitionMode.Reset);
        Assert.That(await PingAsync(1, 2), Is.False);
        Assert.That(await PingAsync(2, 0), Is.False);
        Assert.That(await PingAsync(0, 1), Is.True, "nodes on the same side still talk");
        _network.Heal();
        Assert.That(await EventuallyAsync(() => PingAsync(1, 2)), Is.True);
        Assert.That(await EventuallyAsync(() => PingAsync(2, 0)), Is.True);
    }

    [Test]
    public async Task A_black_hole_partition_drops_bytes_silently_and_healing_resets_the_dead_connection(CancellationToken cancellationToken)
    {
        Assert.That(await PingAsync(1, 2), Is.True);
        _network.Partition([2], PartitionMode.Drop);
        Assert.That(await PingAsync(1, 2), Is.False, "the ping times out on the open connection");
        Assert.That(_network.DroppedChunks, Is.GreaterThan(0));
        _network.Heal();
        Assert.That(await EventuallyAsync(() => PingAsync(1, 2)), Is.True, "a new connection replaces the one whose bytes were dropped");
    }

    [Test]
    public async Task Cuts_inside_tls_records_break_calls_until_they_stop(CancellationToken cancellationToken)
    {
        Assert.That(await PingAsync(0, 1), Is.True);
        _network.CutProbability = 1;
        Assert.That(await PingAsync(0, 1), Is.False);
        Assert.That(_network.Cuts, Is.GreaterThan(0));
        _network.CutProbability = 0;
        Assert.That(await EventuallyAsync(() => PingAsync(0, 1)), Is.True);
    }

    [Test]
    public async Task Swapped_tls_records_are_refused_by_the_receiver_and_the_caller_recovers_on_a_new_connection(CancellationToken cancellationToken)
    {
        Assert.That(await PingAsync(1, 2), Is.True);
        long connections = _network.Connections;
        _network.ReorderProbability = 1;
        // The first ping's record is held back; a second one sent meanwhile overtakes it.
        for (int attempt = 0; attempt < 5 && _network.Reorders == 0; attempt++)
        {
            var first = PingAsync(1, 2);
            await Task.Delay(FaultyStream.HoldTime / 10, cancellationToken);
            await Task.WhenAll(first, PingAsync(1, 2));
        }
        Assert.That(_network.Reorders, Is.GreaterThan(0));
        _network.ReorderProbability = 0;
        Assert.That(await EventuallyAsync(() => PingAsync(1, 2)), Is.True);
        // A ping whose connection the receiver closed goes once more on a new connection (RpcClient.MaySendAgain), so the
        // swap shows in the connection count rather than in a failed call.
        Assert.That(_network.Connections, Is.GreaterThan(connections), "TLS authenticates record order: a swap kills the connection");
    }

    [Test]
    public async Task A_slow_node_delays_every_chunk_but_calls_still_succeed(CancellationToken cancellationToken)
    {
        _network.SetSlow(2, TimeSpan.FromMilliseconds(50));
        Assert.That(await PingAsync(1, 2), Is.True);
        Assert.That(_network.DelayedChunks, Is.GreaterThan(0));
        _network.ClearSlow();
        long before = _network.DelayedChunks;
        Assert.That(await PingAsync(1, 2), Is.True);
        Assert.That(_network.DelayedChunks, Is.EqualTo(before));
    }

    [Test]
    public void The_record_tracker_finds_boundaries_and_offsets_strictly_inside_a_body()
    {
        // Two application-data records: 3-byte body, then 1-byte body.
        byte[] data = [0x17, 3, 3, 0, 3, 1, 2, 3, 0x17, 3, 3, 0, 1, 9];
        var tracker = new TlsRecordTracker();
        Assert.That(tracker.IsWholeApplicationRecords(data), Is.True);
        Assert.That(tracker.IsWholeApplicationRecords(data.AsSpan(0, 7)), Is.False);
        Assert.That(tracker.MidBodyOffset(data), Is.EqualTo(6), "after the first body byte, before the last");
        Assert.That(tracker.Advance(data.AsSpan(0, 6)), Is.Zero);
        Assert.That(tracker.AtBoundary, Is.False);
        Assert.That(tracker.Advance(data.AsSpan(6)), Is.EqualTo(2));
        Assert.That(tracker.AtBoundary, Is.True);
        Assert.That(tracker.MidBodyOffset(data.AsSpan(8)), Is.EqualTo(-1), "a 1-byte body has no inside");
    }
}
