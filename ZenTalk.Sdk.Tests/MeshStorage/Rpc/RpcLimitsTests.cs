using System.Net;
using System.Net.Sockets;
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
        await Task.Delay(200);
        Assert.That(gate.Running, Is.EqualTo(2), "only two requests are handled at once");
        gate.Open();
        await Task.WhenAll(calls);
        Assert.That(gate.MaxRunning, Is.EqualTo(2));
        Assert.That(gate.Total, Is.EqualTo(6));
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
