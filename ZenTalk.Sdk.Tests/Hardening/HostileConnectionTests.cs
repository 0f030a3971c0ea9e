using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Attacks on a real node's connection table over TLS and sockets: one operator with many addresses of one prefix,
/// and slots held by connections that only ping. The node listens on 127.0.0.1 with the loopback relaxations off, so
/// it applies the limits a network-facing node applies; the attackers connect from other 127.x.y.z addresses (Linux
/// lets a socket bind any of them) and the honest peer from a prefix of its own.
/// </summary>
public class HostileConnectionTests
{
    private static readonly IPAddress HonestSource = IPAddress.Parse("127.0.1.1");
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-hostileconn-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private Task<MeshNode> StartNodeAsync() => MeshNode.StartAsync(new MeshNodeOptions
    {
        DataDirectory = _dir,
        RelaxLoopbackLimits = false,
        Repair = { Interval = Timeout.InfiniteTimeSpan },
    });

    /// <summary>Opens TLS connections that finish the version exchange, <paramref name="perAddress"/> from each source, 16 at a time.</summary>
    private static async Task<(List<HostileClient> Held, int Refused)> OccupyAsync(IPEndPoint node, IEnumerable<IPAddress> sources, int perAddress,
        CancellationToken cancellationToken)
    {
        var held = new List<HostileClient>();
        int refused = 0;
        using var identity = NodeIdentity.CreateEphemeral();
        var tls = Drivers.HostileTls.ClientOptions(identity);
        await Parallel.ForEachAsync(sources.SelectMany(s => Enumerable.Repeat(s, perAddress)),
            new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (source, _) =>
            {
                try
                {
                    var c = await HostileClient.ConnectAsync(node, source: source, tls: tls);
                    lock (held) held.Add(c);
                }
                catch (Exception e) when (e is IOException or SocketException or AuthenticationException or ProtocolException)
                {
                    Interlocked.Increment(ref refused);
                }
            });
        return (held, refused);
    }

    private static IEnumerable<IPAddress> Addresses(int thirdByte, int first, int count) =>
        Enumerable.Range(first, count).Select(i => new IPAddress([127, 0, (byte)thirdByte, (byte)i]));

    private static async Task<bool> HonestPingAsync(MeshNode node)
    {
        using var identity = NodeIdentity.CreateEphemeral();
        await using var client = new RpcClient(identity, RpcTestPeer.RoomyOptions) { LocalBindAddress = HonestSource };
        try
        {
            var answer = await client.CallAsync(IPEndPoint.Parse(node.Endpoint), node.Id,
                new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([5]) } }, TimeSpan.FromSeconds(20), CancellationToken.None);
            return answer.Ping.Payload.Span.SequenceEqual(new byte[] { 5 });
        }
        catch (Exception e) when (e is ProtocolException or TimeoutException)
        {
            TestContext.Out.WriteLine("honest ping failed: " + e.Message);
            return false;
        }
    }

    private static async Task DisposeAllAsync(List<HostileClient> clients)
    {
        foreach (var c in clients) await c.DisposeAsync();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Sixty_four_addresses_of_one_prefix_hold_at_most_the_prefix_limit_of_slots(CancellationToken cancellationToken)
    {
        // Per exact IP the limit is 16: 64 addresses of one /24 (or one IPv6 /64) took all 1024 slots.
        await using var node = await StartNodeAsync();
        var (held, refused) = await OccupyAsync(IPEndPoint.Parse(node.Endpoint), Addresses(0, 2, 64), 16, cancellationToken);
        try
        {
            int slots = node.Network.Server.ConnectionCount;
            TestContext.Out.WriteLine($"64 addresses of 127.0.0.0/24 x 16 connections: {held.Count} held, {refused} refused; node has {slots} connections");
            Assert.That(slots, Is.LessThanOrEqualTo(new RpcOptions().MaxInboundConnectionsPerPrefix), "one prefix holds at most its limit");
            Assert.That(await HonestPingAsync(node), Is.True, "a peer from another prefix is served");
        }
        finally
        {
            await DisposeAllAsync(held);
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Connections_that_only_ping_do_not_keep_an_honest_peer_out(CancellationToken cancellationToken)
    {
        // A ping every two minutes reset the idle timer, so a full connection table stayed full for good. 16 prefixes x
        // 64 connections (each prefix within its limit) take all 1024 slots and ping every 2 s.
        await using var node = await StartNodeAsync();
        var sources = Enumerable.Range(10, 16).SelectMany(p => Addresses(p, 1, 4));
        var (held, refused) = await OccupyAsync(IPEndPoint.Parse(node.Endpoint), sources, 16, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pinging = held.Select(c => Task.Run(async () =>
        {
            var drain = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                while (await c.Stream.ReadAsync(buffer, stop.Token) > 0)
                {
                }
            }, stop.Token);
            for (ulong id = 1; !stop.IsCancellationRequested && !drain.IsCompleted; id++)
            {
                await c.WriteFrameAsync(new Frame { RequestId = id, Request = new Request { Ping = new PingRequest() } });
                await Task.Delay(2000, stop.Token);
            }
        }, stop.Token)).ToList();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(6), cancellationToken);
            int before = node.Network.Server.ConnectionCount;
            bool served = await HonestPingAsync(node);
            int after = node.Network.Server.ConnectionCount;
            TestContext.Out.WriteLine($"16 prefixes x 64 pinging connections: {held.Count} held, {refused} refused; node had {before} connections; honest peer served: {served}; then {after} connections");
            Assert.That(before, Is.EqualTo(new RpcOptions().MaxInboundConnections), "the attackers filled the table");
            Assert.That(served, Is.True, "a connection that only pings gives its slot to a newcomer");
            Assert.That(after, Is.LessThanOrEqualTo(new RpcOptions().MaxInboundConnections));
        }
        finally
        {
            await stop.CancelAsync();
            await DisposeAllAsync(held);
            try
            {
                await Task.WhenAll(pinging);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // The attackers are gone.
            }
        }
    }
}
