using System.Net;
using System.Net.Sockets;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class RpcLimitsTests
{
    private static readonly Request Ping = new() { Ping = new PingRequest() };

    [Test]
    public async Task Calls_beyond_the_in_flight_limit_wait_instead_of_piling_up_on_the_server()
    {
        var gate = new GateHandler();
        var options = new RpcOptions { MaxInFlightPerConnection = 2, DefaultCallTimeout = TimeSpan.FromSeconds(20) };
        await using var server = new RpcTestPeer(options, handler: gate);
        await using var client = new RpcTestPeer(options);
        var calls = Enumerable.Range(0, 6)
            .Select(_ => client.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask())
            .ToList();
        await gate.WaitForRunningAsync(2);
        await Task.Delay(200); // Nothing signals a request that is not handled: a third would show up within this wait.
        Assert.That(gate.Running, Is.EqualTo(2), "only two requests are handled at once");
        gate.Open();
        await Task.WhenAll(calls);
        Assert.That(gate.MaxRunning, Is.EqualTo(2));
        Assert.That(gate.Total, Is.EqualTo(6));
    }

    [Test]
    public async Task Requests_beyond_the_servers_byte_budget_wait_unread_instead_of_piling_up_in_memory()
    {
        // Regression: before the budget, one peer pipelining large requests had up to 128 of them (each up to a whole
        // frame) in memory at once per connection; 4 peers flooding 1 MiB PUT_SHARDs took a node to 877 MiB RSS.
        var gate = new GateHandler();
        var options = new RpcOptions { MaxFrameSize = 256 * 1024, MaxBufferedBytes = 512 * 1024, DefaultCallTimeout = TimeSpan.FromSeconds(20) };
        await using var server = new RpcTestPeer(options, handler: gate);
        await using var client = new RpcTestPeer(options);
        var big = new Request { Ping = new PingRequest { Payload = Google.Protobuf.ByteString.CopyFrom(new byte[200 * 1024]) } };
        var calls = Enumerable.Range(0, 6)
            .Select(_ => client.Client.CallAsync(server.Contact, big, TimeSpan.FromSeconds(20), CancellationToken.None).AsTask())
            .ToList();
        await gate.WaitForRunningAsync(2);
        await Task.Delay(300); // Nothing signals a request that is not read: a third would show up within this wait.
        Assert.That(gate.Running, Is.EqualTo(2), "two 200 KiB requests fit a 512 KiB budget, a third does not");
        Assert.That(server.Server.BufferedBytesAvailable, Is.LessThan(512 * 1024 - (2 * 200 * 1024)));
        gate.Open();
        await Task.WhenAll(calls);
        Assert.That(gate.MaxRunning, Is.EqualTo(2));
        Assert.That(gate.Total, Is.EqualTo(6));
        for (int i = 0; i < 100 && server.Server.BufferedBytesAvailable < 512 * 1024; i++) await Task.Delay(20);
        Assert.That(server.Server.BufferedBytesAvailable, Is.EqualTo(512 * 1024), "every byte is given back once the answers are written");
    }

    /// <summary>A 200 KiB shard, and options with a 1 MiB budget that a silent peer's answers can fill.</summary>
    private static (InMemoryShardHandler Shards, byte[] Shard, byte[] Hash) OneLargeShard()
    {
        var shards = new InMemoryShardHandler();
        var shard = new byte[200 * 1024];
        Random.Shared.NextBytes(shard);
        var hash = System.Security.Cryptography.SHA256.HashData(shard);
        shards.Shards[Convert.ToHexString(hash)] = Google.Protobuf.ByteString.CopyFrom(shard);
        return (shards, shard, hash);
    }

    private static RpcOptions SmallBudget(TimeSpan readTimeout, long perConnection) => new()
    {
        MaxFrameSize = 256 * 1024,
        MaxBufferedBytes = 1024 * 1024,
        MaxBufferedBytesPerConnection = perConnection,
        ReadTimeout = readTimeout,
        HandshakeTimeout = TimeSpan.FromSeconds(5),
        DefaultCallTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>A raw TLS peer that asks for the shard 400 times (80 MiB of answers, more than any socket buffer holds) and never reads.</summary>
    private static async Task<HostileClient> SilentReaderAsync(RpcTestPeer server, byte[] hash)
    {
        var hostile = await HostileClient.ConnectAsync(server.Server.LocalEndPoint);
        var requests = new List<byte>();
        for (ulong id = 1; id <= 400; id++)
            requests.AddRange(Hardening.Drivers.FuzzCorpus.Wire(new Frame { RequestId = id, Request = new Request { GetShard = new GetShardRequest { ShardHash = Google.Protobuf.ByteString.CopyFrom(hash) } } }));
        await hostile.WriteRawAsync(requests.ToArray());
        return hostile;
    }

    [Test]
    public async Task A_peer_that_never_reads_its_answers_is_dropped_and_gives_back_the_budget()
    {
        var (shards, shard, hash) = OneLargeShard();
        var options = SmallBudget(TimeSpan.FromSeconds(2), perConnection: 1024 * 1024);
        await using var server = new RpcTestPeer(options, shards);
        await using var hostile = await SilentReaderAsync(server, hash);

        // Its connection is dropped once the server's writes stall past the read timeout (the test does not read: the
        // connection is seen closed through the server's connection count).
        for (int i = 0; i < 300 && server.Server.ConnectionCount > 0; i++) await Task.Delay(50);
        Assert.That(server.Server.ConnectionCount, Is.Zero, "a peer that does not read is dropped");
        for (int i = 0; i < 100 && server.Server.BufferedBytesAvailable < 1024 * 1024; i++) await Task.Delay(20);
        Assert.That(server.Server.BufferedBytesAvailable, Is.EqualTo(1024 * 1024), "the dropped peer's unwritten answers give their bytes back");
        await using var honest = new RpcTestPeer(options);
        var answer = await honest.Client.CallAsync(server.Contact, new Request { GetShard = new GetShardRequest { ShardHash = Google.Protobuf.ByteString.CopyFrom(hash) } },
            TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(answer.GetShard.Data.Span.SequenceEqual(shard), Is.True);
    }

    [Test]
    public async Task A_peer_that_never_reads_its_answers_holds_only_its_own_share_of_the_budget()
    {
        // Before per-connection shares, such a peer's queued answers took the whole budget and every other peer's
        // answer waited behind them until the read timeout dropped it (30 s here).
        var (shards, shard, hash) = OneLargeShard();
        var options = SmallBudget(TimeSpan.FromSeconds(30), perConnection: 512 * 1024);
        await using var server = new RpcTestPeer(options, shards);
        await using var hostile = await SilentReaderAsync(server, hash);
        // Once the socket buffers are full, its answers queue up and hold budget.
        const int twoAnswers = 2 * 200 * 1024;
        for (int i = 0; i < 400 && server.Server.BufferedBytesAvailable > (1024 * 1024) - twoAnswers; i++) await Task.Delay(25);
        Assert.That(server.Server.BufferedBytesAvailable, Is.LessThanOrEqualTo((1024 * 1024) - twoAnswers), "its unread answers hold budget");
        await Task.Delay(300);
        Assert.That(server.Server.BufferedBytesAvailable, Is.GreaterThanOrEqualTo(512 * 1024), "the silent peer holds at most its share");

        await using var honest = new RpcTestPeer(options);
        for (int i = 0; i < 5; i++)
        {
            var answer = await honest.Client.CallAsync(server.Contact, new Request { GetShard = new GetShardRequest { ShardHash = Google.Protobuf.ByteString.CopyFrom(hash) } },
                TimeSpan.FromSeconds(10), CancellationToken.None);
            Assert.That(answer.GetShard.Data.Span.SequenceEqual(shard), Is.True);
        }

        Assert.That(server.Server.ConnectionCount, Is.EqualTo(2), "the silent peer is still connected: the honest answers did not wait for it to be dropped");
    }

    [Test]
    public async Task A_second_connection_from_one_address_over_the_limit_is_refused()
    {
        var options = new RpcOptions { MaxInboundConnectionsPerAddress = 1, HandshakeTimeout = TimeSpan.FromSeconds(5) };
        await using var server = new RpcTestPeer(options);
        await using var first = new RpcTestPeer(options);
        await using var second = new RpcTestPeer(options);
        await first.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.CatchAsync<Exception>(async () =>
            await second.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.That(server.Server.ConnectionCount, Is.EqualTo(1));
        // The first client is still served.
        await first.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Connections_from_many_addresses_of_one_prefix_are_limited_together(CancellationToken cancellationToken)
    {
        // 127.0.2.1..4 and 127.0.3.1 (two /24s): two connections per prefix at most, whichever address they come from.
        // A roomy handshake limit: on a loaded machine an accepted handshake may take seconds, and one dropped for
        // slowness would look like a refusal.
        var options = new RpcOptions { MaxInboundConnectionsPerPrefix = 2, HandshakeTimeout = TimeSpan.FromSeconds(30) };
        await using var server = new RpcTestPeer(options);
        var clients = new List<HostileClient>();
        try
        {
            int refused = 0;
            for (int i = 1; i <= 4; i++)
            {
                try
                {
                    clients.Add(await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse($"127.0.2.{i}")));
                }
                catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException)
                {
                    refused++;
                }
            }

            Assert.That(refused, Is.EqualTo(2), "the third and fourth address of the prefix are refused");
            clients.Add(await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse("127.0.3.1")));
            // The client has the server's hello before the server files the connection: wait for that, not a fixed time.
            await Eventually.TrueAsync(() => server.Server.HandshakesInProgress == 0 && server.Server.ConnectionCount >= 3, TimeSpan.FromSeconds(15),
                "the server files the other prefix's connection", cancellationToken);
            Assert.That(server.Server.ConnectionCount, Is.EqualTo(3), "another prefix has its own allowance");
        }
        finally
        {
            foreach (var c in clients) await c.DisposeAsync();
        }
    }

    [Test]
    public async Task Loopback_peers_are_exempt_only_when_the_server_says_so()
    {
        var strict = new RpcOptions { MaxInboundConnectionsPerAddress = 1, MaxInboundConnectionsPerPrefix = 1 };
        var relaxed = new RpcOptions { MaxInboundConnectionsPerAddress = 1, MaxInboundConnectionsPerPrefix = 1, ExemptLoopbackPeers = true };
        foreach (var (options, expected) in new[] { (strict, 1), (relaxed, 3) })
        {
            await using var server = new RpcTestPeer(options);
            var clients = new List<RpcTestPeer>();
            try
            {
                for (int i = 0; i < 3; i++)
                {
                    var c = new RpcTestPeer(RpcTestPeer.RoomyOptions);
                    clients.Add(c);
                    try
                    {
                        await c.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
                    }
                    catch (ProtocolException)
                    {
                        // Refused by the limit.
                    }
                }

                Assert.That(server.Server.ConnectionCount, Is.EqualTo(expected), options.ExemptLoopbackPeers ? "relaxed" : "strict");
            }
            finally
            {
                foreach (var c in clients) await c.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task An_inbound_connection_that_only_pings_is_closed_at_the_idle_timeout_and_one_that_works_is_not()
    {
        // Regression: every frame reset the idle timer, so a ping now and then held an inbound slot for good.
        var (shards, _, hash) = OneLargeShard();
        var options = new RpcOptions { IdleTimeout = TimeSpan.FromSeconds(1), HandshakeTimeout = TimeSpan.FromSeconds(5) };
        await using var server = new RpcTestPeer(options, shards);
        await using var pinger = await HostileClient.ConnectAsync(server.Server.LocalEndPoint);
        await using var worker = await HostileClient.ConnectAsync(server.Server.LocalEndPoint);
        var closed = pinger.WaitForDisconnectAsync(TimeSpan.FromSeconds(15));
        var workerClosed = worker.WaitForDisconnectAsync(TimeSpan.FromSeconds(15));
        for (ulong id = 1; !closed.IsCompleted && id < 100; id++)
        {
            await pinger.WriteFrameAsync(new Frame { RequestId = id, Request = new Request { Ping = new PingRequest() } });
            await worker.WriteFrameAsync(new Frame { RequestId = id, Request = new Request { HasShards = new HasShardsRequest { ShardHashes = { Google.Protobuf.ByteString.CopyFrom(hash) } } } });
            await Task.WhenAny(closed, Task.Delay(200));
        }

        Assert.That(await closed, Is.True, "pings alone do not keep the slot");
        Assert.That(workerClosed.IsCompleted, Is.False, "a peer asking for work keeps its connection");
    }

    [Test]
    public async Task A_full_server_evicts_the_least_recently_useful_idle_connection_from_the_most_crowded_prefix()
    {
        var (shards, _, hash) = OneLargeShard();
        var options = new RpcOptions { MaxInboundConnections = 4, EvictableAfter = TimeSpan.FromMilliseconds(300), HandshakeTimeout = TimeSpan.FromSeconds(5) };
        await using var server = new RpcTestPeer(options, shards);
        // The oldest idle connection is alone in its prefix; two younger idle ones share another; one keeps working.
        await using var loner = await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse("127.0.4.1"));
        await using var crowdA = await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse("127.0.5.1"));
        await using var crowdB = await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse("127.0.5.2"));
        await using var busy = await HostileClient.ConnectAsync(server.Server.LocalEndPoint, source: IPAddress.Parse("127.0.5.3"));
        using var stop = new CancellationTokenSource();
        var working = Task.Run(async () =>
        {
            for (ulong id = 1; !stop.IsCancellationRequested; id++)
            {
                await busy.WriteFrameAsync(new Frame { RequestId = id, Request = new Request { HasShards = new HasShardsRequest { ShardHashes = { Google.Protobuf.ByteString.CopyFrom(hash) } } } });
                await Task.Delay(50);
            }
        });
        var drainBusy = busy.WaitForDisconnectAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(600);
        Assert.That(server.Server.ConnectionCount, Is.EqualTo(4));

        // Two newcomers: each takes the slot of an idle connection of the crowded prefix, never the busy one.
        await using var first = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await first.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(await crowdA.WaitForDisconnectAsync(TimeSpan.FromSeconds(5)) || await crowdB.WaitForDisconnectAsync(TimeSpan.FromSeconds(5)), Is.True);
        await stop.CancelAsync();
        await working;
        Assert.That(drainBusy.IsCompleted, Is.False, "the connection doing useful work is not evicted");
        Assert.That(await loner.WaitForDisconnectAsync(TimeSpan.FromMilliseconds(200)), Is.False, "the crowded prefix pays first");
    }

    [Test]
    public async Task An_idle_pooled_connection_is_closed_and_the_next_call_reconnects()
    {
        var options = new RpcOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) };
        await using var server = new RpcTestPeer(options);
        await using var client = new RpcTestPeer(options);
        await client.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(client.Client.ConnectionCount, Is.EqualTo(1));
        for (int i = 0; i < 100 && client.Client.ConnectionCount > 0; i++) await Task.Delay(50);
        Assert.That(client.Client.ConnectionCount, Is.Zero);
        await client.Client.CallAsync(server.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(client.Client.ConnectionCount, Is.EqualTo(1));
    }

    [Test]
    public async Task The_outbound_pool_closes_idle_connections_to_stay_within_its_limit()
    {
        var options = new RpcOptions { MaxOutboundConnections = 2 };
        await using var client = new RpcTestPeer(options);
        var servers = new List<RpcTestPeer>();
        try
        {
            for (int i = 0; i < 4; i++) servers.Add(new RpcTestPeer(options));
            foreach (var s in servers)
                await client.Client.CallAsync(s.Contact, Ping, TimeSpan.FromSeconds(5), CancellationToken.None);
            for (int i = 0; i < 100 && client.Client.ConnectionCount > 3; i++) await Task.Delay(20);
            Assert.That(client.Client.ConnectionCount, Is.LessThanOrEqualTo(3), "at most the limit plus the one being opened");
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
        }
    }

    [Test]
    public void Invalid_options_are_refused_with_the_parameter_name()
    {
        using var identity = NodeIdentity.CreateEphemeral();
        var ex = Assert.Throws<ArgumentException>(() => _ = new RpcClient(identity, new RpcOptions { MaxFrameSize = 10 }));
        Assert.That(ex!.ParamName, Is.EqualTo("MaxFrameSize"));
    }

    private sealed class GateHandler : IRpcRequestHandler
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _running;
        public int Running => Volatile.Read(ref _running);
        public int MaxRunning;
        public int Total;

        public void Open() => _open.TrySetResult();

        public async Task WaitForRunningAsync(int n)
        {
            for (int i = 0; i < 400 && Running < n; i++) await Task.Delay(10);
        }

        public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            int now = Interlocked.Increment(ref _running);
            lock (this) MaxRunning = Math.Max(MaxRunning, now);
            Interlocked.Increment(ref Total);
            await _open.Task.WaitAsync(cancellationToken);
            Interlocked.Decrement(ref _running);
            return new Response { Ping = new PingResponse() };
        }
    }
}
