using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// A one-segment store sends its puts to the nodes its routing table names as closest to the CID while the CID's lookup
/// runs, and the lookup decides the places. Here the client's table also names nodes that never answer: a TCP listener
/// that nobody accepts from, so a call to it hangs until its deadline, as a node on the far side of a partition does.
/// On one 16-node loopback mesh; each test starts its own client with the deadlines it needs.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class MeshEarlyPutTests
{
    private const int Nodes = 16;
    private const int Dead = 12;
    private LocalMeshOptions _options = null!;
    private LocalMesh _mesh = null!;
    private OwnerKey _owner = null!;
    private string _clients = null!;

    [OneTimeSetUp]
    public async Task StartMesh()
    {
        _options = new LocalMeshOptions { Node = { Coding = { SegmentSize = 64 * 1024 }, Repair = { Interval = Timeout.InfiniteTimeSpan } } };
        _mesh = await LocalMesh.StartAsync(Nodes, _options);
        _owner = OwnerKey.Generate(2048);
        _clients = Directory.CreateTempSubdirectory("zentalk-earlyput-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopMesh()
    {
        await _mesh.DisposeAsync();
        _owner.Dispose();
        Directory.Delete(_clients, recursive: true);
    }

    [Test]
    public async Task A_store_waits_for_no_table_node_that_failed_recently_and_places_every_shard_on_live_nodes(CancellationToken cancellationToken)
    {
        // Deadlines far above what a store takes: a store that asked the dead nodes and waited would take 20 s or more.
        await using var client = await StartClientAsync(requestTimeout: TimeSpan.FromSeconds(10), cancellationToken);
        using var dead = BlackHoles.Add(client, Dead);
        foreach (var peer in dead.Peers) client.Network.Dht.Table.RecordFailure(peer.Id);

        var data = MeshTestData.Bytes(40_000, 1901);
        var watch = Stopwatch.StartNew();
        var stored = await client.Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "no lookup request, put or STORE_VALUE to a dead node was waited for");

        await AssertPlacedOnLiveNodesAsync(stored, cancellationToken);
        watch.Restart();
        var back = await MeshTestData.ReadAllAsync(await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "nor did the read wait for them");
    }

    [Test]
    public async Task A_table_node_that_fails_the_lookup_neither_holds_up_the_store_nor_takes_a_place(CancellationToken cancellationToken)
    {
        // Nothing is recorded against the dead nodes yet: they get early puts, and the lookup waits for them (1 s per
        // request, asked twice). Their puts hang until the handshake deadline (10 s), which the store must not wait for.
        await using var client = await StartClientAsync(requestTimeout: TimeSpan.FromSeconds(1), cancellationToken);
        using var dead = BlackHoles.Add(client, Dead);

        var data = MeshTestData.Bytes(40_000, 1902);
        var watch = Stopwatch.StartNew();
        var stored = await client.Store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "the store did not wait for the early puts to the dead nodes");
        Assert.That(dead.Peers.Count(p => client.Network.Dht.Table.FailedRecently(p.Id)), Is.Positive, "the lookup recorded the failures of those it asked");

        await AssertPlacedOnLiveNodesAsync(stored, cancellationToken);
        var back = await MeshTestData.ReadAllAsync(await _mesh.Nodes[2].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken), cancellationToken);
        Assert.That(back, Is.EqualTo(data));
    }

    /// <summary>Shard j at the j-th closest live node to the CID (the lookup's place), nowhere else; status 15 of 15.</summary>
    private async Task AssertPlacedOnLiveNodesAsync(StoredFile stored, CancellationToken cancellationToken)
    {
        var manifest = await _mesh.Nodes[0].MeshStore.FindManifestAsync(stored.Cid, cancellationToken);
        Assert.That(manifest.SegmentCount, Is.EqualTo(1));
        var places = Enumerable.Range(0, Nodes).OrderBy(i => _mesh.Nodes[i].Id, Comparer<NodeId>.Create(FileRecords.KeyOf(stored.Cid).CompareDistance)).ToList();
        for (int j = 0; j < manifest.TotalShards; j++)
        {
            var hash = manifest.ShardHash(0, j);
            Assert.That(_mesh.Nodes[places[j]].Shards!.Contains(hash), Is.True, $"shard {j} is at place {j}");
            Assert.That(_mesh.Nodes.Count(n => n.Shards!.Contains(hash)), Is.EqualTo(1), $"shard {j} is nowhere else");
        }

        var status = await _mesh.Nodes[1].Store.GetStatusAsync(stored.Cid, cancellationToken);
        Assert.That(status.Segments[0].ShardsVerified, Is.EqualTo(15));
    }

    private async Task<MeshNode> StartClientAsync(TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        var options = _options.ForNode(-1, Path.Combine(_clients, "client-" + Guid.NewGuid().ToString("N")), 0, [_mesh.Nodes[0].BootstrapAddress], storeForOthers: false);
        options.Dht.RequestTimeout = requestTimeout;
        options.Rpc.ShardTimeout = TimeSpan.FromSeconds(30);
        var client = await MeshNode.StartAsync(options, cancellationToken);
        Assume.That(client.Network.Dht.Table.Count, Is.EqualTo(Nodes), "the client knows every node");
        return client;
    }

    /// <summary>
    /// Routing-table entries for nodes that never answer: each a listening socket on loopback that accepts no connection,
    /// so the TCP connect succeeds (the kernel's backlog) and the TLS handshake waits for an answer that never comes.
    /// </summary>
    private sealed class BlackHoles : IDisposable
    {
        private readonly List<Socket> _sockets = [];

        public List<PeerContact> Peers { get; } = [];

        public static BlackHoles Add(MeshNode client, int count)
        {
            var holes = new BlackHoles();
            var table = client.Network.Dht.Table;
            for (int i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                socket.Listen(64);
                holes._sockets.Add(socket);
                var peer = new PeerContact(NodeId.Random(), (IPEndPoint)socket.LocalEndPoint!);
                holes.Peers.Add(peer);
                Assume.That(table.Update(peer, out _), Is.EqualTo(ZenTalk.MeshStorage.Dht.RoutingTable.UpdateResult.Added), "room in the client's table");
            }

            return holes;
        }

        public void Dispose()
        {
            foreach (var socket in _sockets) socket.Dispose();
        }
    }
}
