using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class RpcTlsTests
{
    private static Request PingRequest(byte[] payload) => new() { Ping = new PingRequest { Payload = ByteString.CopyFrom(payload) } };

    [Test]
    public async Task Two_nodes_ping_over_tls_and_each_learns_the_others_id()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var seenByB = new TaskCompletionSource<RpcCallContext>();
        var recorder = new RecordingHandler(seenByB);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: recorder);

        var response = await a.Client.CallAsync(b.Contact, PingRequest([1, 2, 3]), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(response.Ping.Payload.ToByteArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        var caller = await seenByB.Task;
        Assert.That(caller.RemoteId, Is.EqualTo(a.Identity.Id), "the listener records the dialer's proven id");
        Assert.That(caller.RemoteListenPort, Is.EqualTo(a.Server.LocalEndPoint.Port));
    }

    [Test]
    public async Task Nodes_talk_over_ipv6_loopback_and_peer_lists_carry_ipv6_addresses()
    {
        if (!Socket.OSSupportsIPv6) Assert.Ignore("No IPv6 on this host.");
        using var serverId = NodeIdentity.CreateEphemeral();
        using var clientId = NodeIdentity.CreateEphemeral();
        await using var server = new RpcServer(serverId, RpcTestPeer.RoomyOptions, new MeshRequestRouter(serverId.Id));
        try
        {
            server.Start(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        }
        catch (SocketException ex)
        {
            Assert.Ignore($"::1 is not available here: {ex.Message}");
        }
        await using var client = new RpcClient(clientId, RpcTestPeer.RoomyOptions);
        var contact = new PeerContact(serverId.Id, server.LocalEndPoint);
        var r = await client.CallAsync(contact, PingRequest([6]), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(r.Ping.Payload.ToByteArray(), Is.EqualTo(new byte[] { 6 }));
        Assert.That(PeerContact.TryFromWire(contact.ToWire(), out var back), Is.True);
        Assert.That(back, Is.EqualTo(contact));
    }

    [Test]
    public async Task Many_concurrent_calls_share_one_connection()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            var r = await a.Client.CallAsync(b.Contact, PingRequest(BitConverter.GetBytes(i)), TimeSpan.FromSeconds(10), CancellationToken.None);
            return BitConverter.ToInt32(r.Ping.Payload.Span);
        });
        var results = await Task.WhenAll(calls);
        Assert.That(results, Is.EqualTo(Enumerable.Range(0, 200).ToArray()));
        Assert.That(a.Client.ConnectionCount, Is.EqualTo(1));
        Assert.That(b.Server.ConnectionCount, Is.EqualTo(1));
    }

    [Test]
    public async Task A_wrong_expected_node_id_is_refused()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var wrong = new PeerContact(NodeId.Random(), b.Server.LocalEndPoint);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () =>
            await a.Client.CallAsync(wrong, PingRequest([1]), TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("not the expected node id"));
        // The right id still works afterwards.
        var ok = await a.Client.CallAsync(b.Contact, PingRequest([1]), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(ok.Ping.Payload.ToByteArray(), Is.EqualTo(new byte[] { 1 }));
    }

    [Test]
    public async Task A_bootstrap_address_without_an_id_learns_the_id_the_peer_proves()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var id = await a.Client.IdentifyAsync(b.Server.LocalEndPoint, null, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(id, Is.EqualTo(b.Identity.Id));
    }

    [Test]
    public async Task A_client_without_a_certificate_is_refused()
    {
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(b.Server.LocalEndPoint);
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        Assert.That(async () =>
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "zentalk-mesh",
                EnabledSslProtocols = SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            // TLS 1.3 may report the server's refusal of the client certificate only on the first read.
            var buffer = new byte[16];
            await ssl.WriteAsync(new byte[] { 1, 0 });
            int n = await ssl.ReadAsync(buffer);
            if (n == 0) throw new IOException("closed");
        }, Throws.InstanceOf<Exception>());
    }

    [Test]
    public async Task An_unsupported_protocol_version_gets_a_clear_error_not_a_hang()
    {
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var raw = await HostileClient.ConnectAsync(b.Server.LocalEndPoint, hello: new Hello { ProtocolVersion = 99, MinProtocolVersion = 99 });
        var answer = await raw.ReadFrameAsync();
        Assert.That(answer!.Response.Status.Code, Is.EqualTo(StatusCode.UnsupportedVersion));
        Assert.That(answer.Response.Status.Message, Does.Contain("versions 2..3"));
    }

    [Test]
    public async Task A_dialer_refuses_a_listener_that_answers_with_version_1()
    {
        // A version-1 node listening: TLS with a valid node certificate, then its own (old) Hello.
        var closed = new TaskCompletionSource();
        await using var old = new ScriptedListener(async (_, ssl) =>
        {
            using var reader = new FrameReader(ssl, RpcOptions.DefaultMaxFrameSize);
            await reader.ReadAsync(CancellationToken.None);
            await ssl.WriteAsync(Hardening.Drivers.FuzzCorpus.Wire(new Frame { Hello = new Hello { ProtocolVersion = 1, MinProtocolVersion = 1, ListenPort = 1 } }));
            await ScriptedListener.DrainAsync(ssl);
            closed.TrySetResult();
        });
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () => await a.Client.CallAsync(old.Contact, PingRequest([1]), TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("speaks protocol versions 1..1").And.Contain("this node speaks 2..3"));
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the dialer closed the connection
    }

    [Test]
    public async Task A_call_whose_connection_the_peer_closes_unanswered_goes_once_more_on_a_new_connection()
    {
        // What a listener does to a connection it closes as idle or evicts, when a call is already on its way: the
        // call must not fail (every request is idempotent), and a peer that always does it must not be called forever.
        int connections = 0;
        await using var peer = new ScriptedListener(async (index, ssl) =>
        {
            Interlocked.Increment(ref connections);
            using var reader = new FrameReader(ssl, RpcOptions.DefaultMaxFrameSize);
            await reader.ReadAsync(CancellationToken.None);
            await ssl.WriteAsync(Hardening.Drivers.FuzzCorpus.Wire(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 0) }));
            while (await reader.ReadAsync(CancellationToken.None) is { } call)
            {
                if (index == 0 || call.Request.Ping.Payload[0] == 9) return; // closed under the call, no answer
                await ssl.WriteAsync(Hardening.Drivers.FuzzCorpus.Wire(new Frame { RequestId = call.RequestId, Response = new Response { Status = new Status(), Ping = new PingResponse { Payload = call.Request.Ping.Payload } } }));
            }
        });
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var answer = await a.Client.CallAsync(peer.Contact, PingRequest([5]), TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(answer.Ping.Payload[0], Is.EqualTo(5));
        Assert.That(connections, Is.EqualTo(2));

        var ex = Assert.CatchAsync<ProtocolException>(async () => await a.Client.CallAsync(peer.Contact, PingRequest([9]), TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("closed"));
        Assert.That(connections, Is.EqualTo(3), "the dropped call went once more (on a third connection), not again and again");
    }

    [Test]
    public async Task A_dropped_put_goes_once_more_and_a_dropped_delete_does_not()
    {
        // The peer acts on each request and then drops the connection unanswered (the worst case for a second delivery:
        // the first one went through). A PUT_SHARD's second delivery changes nothing, so it goes again; a DELETE_SHARDS'
        // would be refused as a replay of its nonce, so it does not.
        int connections = 0, puts = 0, deletes = 0;
        await using var peer = new ScriptedListener(async (_, ssl) =>
        {
            Interlocked.Increment(ref connections);
            using var reader = new FrameReader(ssl, RpcOptions.DefaultMaxFrameSize);
            await reader.ReadAsync(CancellationToken.None);
            await ssl.WriteAsync(Hardening.Drivers.FuzzCorpus.Wire(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 0) }));
            while (await reader.ReadAsync(CancellationToken.None) is { } call)
            {
                if (call.Request.KindCase == Request.KindOneofCase.DeleteShards)
                {
                    Interlocked.Increment(ref deletes);
                    return;
                }
                if (Interlocked.Increment(ref puts) == 1) return;
                await ssl.WriteAsync(Hardening.Drivers.FuzzCorpus.Wire(new Frame { RequestId = call.RequestId, Response = new Response { Status = new Status(), PutShard = new PutShardResponse() } }));
            }
        });
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var shard = new byte[] { 1, 2, 3 };
        var put = new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(SHA256.HashData(shard)), Data = ByteString.CopyFrom(shard) } };
        Assert.That((await a.Client.CallAsync(peer.Contact, put, TimeSpan.FromSeconds(10), CancellationToken.None)).KindCase, Is.EqualTo(Response.KindOneofCase.PutShard));
        Assert.That((puts, connections), Is.EqualTo((2, 2)));

        var delete = new Request { DeleteShards = new DeleteShardsRequest { ShardHashes = { ByteString.CopyFrom(SHA256.HashData(shard)) } } };
        var ex = Assert.CatchAsync<ProtocolException>(async () => await a.Client.CallAsync(peer.Contact, delete, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("closed"));
        Assert.That((deletes, connections), Is.EqualTo((1, 2)), "the delete went once, on the pooled connection");
    }

    [Test]
    public async Task Shard_requests_without_a_handler_surface_as_protocol_exception()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var request = new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(new byte[32]) } };
        var ex = Assert.ThrowsAsync<ProtocolException>(async () =>
            await a.Client.CallAsync(b.Contact, request, TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("Unsupported").And.Contain("GetShard"));
    }

    [Test]
    public async Task Shards_round_trip_through_a_registered_handler_and_errors_map_to_mesh_exceptions()
    {
        var store = new InMemoryShardHandler();
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, shards: store);
        var data = RandomNumberGenerator.GetBytes(1024 * 1024);
        var hash = SHA256.HashData(data);
        await a.Client.CallAsync(b.Contact, new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = ByteString.CopyFrom(data) } }, TimeSpan.FromSeconds(10), CancellationToken.None);
        var got = await a.Client.CallAsync(b.Contact, new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(hash) } }, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(got.GetShard.Data.ToByteArray(), Is.EqualTo(data));

        var has = await a.Client.CallAsync(b.Contact, new Request { HasShards = new HasShardsRequest { ShardHashes = { ByteString.CopyFrom(hash), ByteString.CopyFrom(new byte[32]) } } }, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(has.HasShards.Present, Is.EqualTo(new[] { true, false }));

        Assert.ThrowsAsync<ShardsUnavailableException>(async () => await a.Client.CallAsync(b.Contact,
            new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(new byte[32]) } }, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.ThrowsAsync<IntegrityException>(async () => await a.Client.CallAsync(b.Contact,
            new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(new byte[32]), Data = ByteString.CopyFrom(data) } }, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.ThrowsAsync<UnauthorizedOperationException>(async () => await a.Client.CallAsync(b.Contact,
            new Request { DeleteShards = new DeleteShardsRequest { ShardHashes = { ByteString.CopyFrom(hash) } } }, TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Test]
    public async Task A_shard_is_read_straight_into_the_callers_buffer_when_it_fits()
    {
        var store = new InMemoryShardHandler();
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, shards: store);
        var data = RandomNumberGenerator.GetBytes(300_000);
        var hash = SHA256.HashData(data);
        store.Shards[Convert.ToHexString(hash)] = ByteString.CopyFrom(data);

        var buffer = new byte[400_000];
        var got = await a.Client.GetShardAsync(b.Contact, hash, buffer, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(got.ToArray(), Is.EqualTo(data));
        Assert.That(buffer.AsSpan(0, data.Length).SequenceEqual(data), Is.True, "the bytes landed in the caller's buffer");

        var tooSmall = new byte[1000];
        var fallback = await a.Client.GetShardAsync(b.Contact, hash, tooSmall, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.That(fallback.ToArray(), Is.EqualTo(data));
        Assert.That(tooSmall, Is.All.EqualTo((byte)0), "a buffer too small is left alone");

        Assert.ThrowsAsync<ShardsUnavailableException>(async () =>
            await a.Client.GetShardAsync(b.Contact, new byte[32], buffer, TimeSpan.FromSeconds(10), CancellationToken.None));
        // Many concurrent reads into separate buffers on one connection.
        var reads = Enumerable.Range(0, 16).Select(async _ =>
        {
            var mine = new byte[300_000];
            var r = await a.Client.GetShardAsync(b.Contact, hash, mine, TimeSpan.FromSeconds(20), CancellationToken.None);
            return r.Span.SequenceEqual(data);
        });
        Assert.That(await Task.WhenAll(reads), Is.All.True);
    }

    [Test]
    public async Task A_call_past_its_deadline_fails_with_timeout_and_the_server_sees_the_cancel()
    {
        var cancelled = new TaskCompletionSource();
        var slow = new SlowHandler(cancelled);
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: slow);
        Assert.ThrowsAsync<TimeoutException>(async () =>
            await a.Client.CallAsync(b.Contact, PingRequest([1]), TimeSpan.FromMilliseconds(200), CancellationToken.None));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task Calls_on_one_connection_each_end_at_their_own_deadline_whatever_the_order()
    {
        // The connection watches every call's deadline with one timer: a call that must end sooner than those already
        // waiting sets it again, and each expiry sets it for the next deadline.
        var slow = new SlowHandler(new TaskCompletionSource());
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: slow);
        using var stopLong = new CancellationTokenSource();
        var longCall = a.Client.CallAsync(b.Contact, PingRequest([1]), TimeSpan.FromSeconds(60), stopLong.Token).AsTask();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var later = a.Client.CallAsync(b.Contact, PingRequest([2]), TimeSpan.FromMilliseconds(900), CancellationToken.None).AsTask();
        var sooner = a.Client.CallAsync(b.Contact, PingRequest([3]), TimeSpan.FromMilliseconds(300), CancellationToken.None).AsTask();
        var first = await Task.WhenAny(later, sooner).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(first, Is.SameAs(sooner), "the call with the nearer deadline ends first");
        Assert.ThrowsAsync<TimeoutException>(async () => await sooner);
        Assert.ThrowsAsync<TimeoutException>(async () => await later.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(850)), "no call ends before its deadline");
        Assert.That(longCall.IsCompleted, Is.False, "a call with a later deadline is still waiting");
        await stopLong.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await longCall.WaitAsync(TimeSpan.FromSeconds(20)));
    }

    [Test]
    public async Task A_caller_cancelling_drops_the_call_and_the_connection_stays_usable()
    {
        var cancelled = new TaskCompletionSource();
        var slow = new SlowHandler(cancelled) { PassThroughAfterFirst = true };
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var b = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: slow);
        using var cts = new CancellationTokenSource(150);
        Assert.CatchAsync<OperationCanceledException>(async () =>
            await a.Client.CallAsync(b.Contact, PingRequest([1]), TimeSpan.FromSeconds(30), cts.Token));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var ok = await a.Client.CallAsync(b.Contact, PingRequest([7]), TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(ok.Ping.Payload.ToByteArray(), Is.EqualTo(new byte[] { 7 }));
    }

    [Test]
    public async Task Calling_a_closed_port_fails_with_a_clear_error()
    {
        await using var a = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var ep = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        var ex = Assert.ThrowsAsync<ProtocolException>(async () =>
            await a.Client.CallAsync(new PeerContact(NodeId.Random(), ep), PingRequest([1]), TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("Could not connect"));
    }

    private sealed class RecordingHandler(TaskCompletionSource<RpcCallContext> seen) : IRpcRequestHandler
    {
        public ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            seen.TrySetResult(caller);
            return ValueTask.FromResult(new Response { Ping = new PingResponse { Payload = request.Ping.Payload } });
        }
    }

    private sealed class SlowHandler(TaskCompletionSource cancelled) : IRpcRequestHandler
    {
        private int _calls;
        public bool PassThroughAfterFirst { get; init; }

        public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            if (PassThroughAfterFirst && Interlocked.Increment(ref _calls) > 1)
                return new Response { Ping = new PingResponse { Payload = request.Ping.Payload } };
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }
            return new Response { Ping = new PingResponse() };
        }
    }
}
