using System.Globalization;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage;

/// <summary>
/// Joining through bootstrap peers that are not up yet (found by the testnet: such a node stayed alone for good), and
/// through a peer that does not answer lookups (found by the testnet: a node joining mid-run took minutes to start).
/// </summary>
public class MeshNodeBootstrapTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "zt-bootstrap-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_node_whose_bootstrap_peer_is_down_at_start_joins_once_the_peer_is_up(CancellationToken cancellationToken)
    {
        // A peer whose key and port are known (as in a bootstrap list), down while the newcomer starts.
        var peerOptions = new MeshNodeOptions { DataDirectory = Path.Combine(_dir, "peer"), Repair = { Interval = Timeout.InfiniteTimeSpan } };
        string bootstrap;
        await using (var peer = await MeshNode.StartAsync(peerOptions, cancellationToken: cancellationToken))
        {
            bootstrap = peer.BootstrapAddress;
            peerOptions.Port = int.Parse(peer.Endpoint[(peer.Endpoint.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
        }

        await using var newcomer = await MeshNode.StartAsync(new MeshNodeOptions
        {
            DataDirectory = Path.Combine(_dir, "newcomer"),
            BootstrapPeers = [bootstrap],
            Dht = { BootstrapRetryInterval = TimeSpan.FromMilliseconds(200) },
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        }, cancellationToken: cancellationToken);
        Assert.That(newcomer.Network.Dht.Table.Count, Is.Zero, "the only bootstrap peer was down");

        await using var peerAgain = await MeshNode.StartAsync(peerOptions, cancellationToken: cancellationToken);
        await Eventually.TrueAsync(() => newcomer.Network.Dht.Table.Contains(peerAgain.Id), TimeSpan.FromSeconds(20),
            "the newcomer retries its bootstrap (every 200 ms) and finds the peer once it is up", cancellationToken, TimeSpan.FromMilliseconds(50));

        // The peer adds the newcomer only after dialling back the address it claims, which runs beside the call.
        await Eventually.TrueAsync(() => peerAgain.Network.Dht.Table.Contains(newcomer.Id), TimeSpan.FromSeconds(20),
            "the peer learned the newcomer (after checking its address) within 20 s of its call", cancellationToken, TimeSpan.FromMilliseconds(50));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_node_whose_bootstrap_peer_does_not_answer_lookups_starts_while_its_join_goes_on(CancellationToken cancellationToken)
    {
        // A bootstrap peer that answers pings but not FIND_NODE, as a loaded or barely reachable peer does: each of the
        // join's lookups (its own id, then one per bucket: at least three) waits out the request deadline twice (a
        // timeout is retried), 6 deadlines at least, while the start waits 4.
        await using var peer = await MeshNode.StartAsync(new MeshNodeOptions
        {
            DataDirectory = Path.Combine(_dir, "peer"),
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        }, cancellationToken);
        peer.Network.Router.Dht = new NoLookupAnswers(peer.Network.Router.Dht!);
        MeshNodeOptions Joiner(string name) => new()
        {
            DataDirectory = Path.Combine(_dir, name),
            BootstrapPeers = [peer.BootstrapAddress],
            Dht = { RequestTimeout = TimeSpan.FromMilliseconds(500) },
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        };

        await using (var newcomer = await MeshNode.StartAsync(Joiner("newcomer"), cancellationToken))
        {
            Assert.That(newcomer.IsJoining, Is.True, "the start did not wait for the whole join");
            Assert.That(newcomer.Network.Dht.Table.Contains(peer.Id), Is.True, "the bootstrap peer answered its ping before the start returned");
            await Eventually.TrueAsync(() => !newcomer.IsJoining, TimeSpan.FromSeconds(45),
                "the join's lookups end at their deadlines", cancellationToken, TimeSpan.FromMilliseconds(100));
            Assert.That(newcomer.Network.Dht.Table.Contains(peer.Id), Is.True, "the peer stays in the table");
        }

        // Stopping a node whose join still waits ends the join; a start cancelled while it waits throws and leaves nothing running.
        var stopped = await MeshNode.StartAsync(Joiner("stopped"), cancellationToken);
        Assert.That(stopped.IsJoining, Is.True);
        await stopped.StopAsync(cancellationToken);
        Assert.That(stopped.IsJoining, Is.False, "stopping ends the join");

        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancelled.CancelAfter(TimeSpan.FromMilliseconds(300));
        Assert.That(async () => await MeshNode.StartAsync(Joiner("cancelled"), cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        await using var again = await MeshNode.StartAsync(Joiner("cancelled"), cancellationToken);
        Assert.That(again.Network.Dht.Table.Contains(peer.Id), Is.True, "the cancelled start released its directory and port");
    }

    /// <summary>A node's DHT service that answers pings and records but leaves every lookup request unanswered.</summary>
    private sealed class NoLookupAnswers(IRpcRequestHandler inner) : IRpcRequestHandler
    {
        public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            if (request.KindCase is not (Request.KindOneofCase.FindNode or Request.KindOneofCase.FindValue))
                return await inner.HandleAsync(request, caller, cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
