using System.Globalization;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.MeshStorage;

/// <summary>Joining through bootstrap peers that are not up yet (found by the testnet: such a node stayed alone for good).</summary>
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
}
