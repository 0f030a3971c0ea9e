using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>
/// Each hostile peer is disconnected within the handshake/read/idle timeout (1-2 s here; the bound checked is
/// generous so a loaded machine does not fail it), while a well-behaved client keeps getting answers throughout.
/// </summary>
public class HostileInputTests
{
    private static readonly TimeSpan DisconnectBound = TimeSpan.FromSeconds(15);
    private RpcTestPeer _server = null!;
    private RpcTestPeer _goodClient = null!;

    [SetUp]
    public async Task SetUp()
    {
        _server = new RpcTestPeer(RpcTestPeer.FastOptions);
        // The good client dials with a relaxed handshake timeout so a loaded CI machine cannot fail it; its
        // connection is made before the hostile peer arrives and must stay usable throughout.
        _goodClient = new RpcTestPeer(new RpcOptions { HandshakeTimeout = TimeSpan.FromSeconds(10), IdleTimeout = TimeSpan.FromSeconds(30) });
        await _goodClient.Client.CallAsync(_server.Contact, new Request { Ping = new PingRequest() }, TimeSpan.FromSeconds(10), CancellationToken.None);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _goodClient.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Pings the server until <paramref name="done"/> completes; returns how many pings succeeded.</summary>
    private async Task<int> ServeGoodClientAsync(Task done)
    {
        int ok = 0;
        do
        {
            await PingAsync();
            ok++;
            await Task.Delay(20);
        } while (!done.IsCompleted);
        return ok;
    }

    private async Task PingAsync()
    {
        var r = await _goodClient.Client.CallAsync(_server.Contact,
            new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([9]) } }, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.That(r.Ping.Payload[0], Is.EqualTo(9));
    }

    private async Task AssertDisconnectedWhileOthersAreServed(HostileClient hostile)
    {
        var disconnected = hostile.WaitForDisconnectAsync(DisconnectBound);
        int served = await ServeGoodClientAsync(disconnected);
        Assert.That(await disconnected, Is.True, "the hostile peer was not disconnected");
        Assert.That(served, Is.GreaterThan(0));
        // Its resources are freed: only the good client's connection remains. The server files the close after the
        // hostile peer sees it, and closes the good client's ping-only connection at its own idle timeout too (the
        // client dials again on its next call): so each look pings first, then counts.
        await Eventually.TrueAsync(async () =>
            {
                await PingAsync();
                return _server.Server.ConnectionCount + _server.Server.HandshakesInProgress == 1;
            }, DisconnectBound, "the server drops the hostile peer's connection and keeps only the good client's");
    }

    [Test]
    public async Task Garbage_instead_of_a_tls_handshake_is_disconnected()
    {
        await using var hostile = await HostileClient.ConnectRawAsync(_server.Server.LocalEndPoint);
        var garbage = new byte[4096];
        new Random(3).NextBytes(garbage);
        await hostile.WriteRawAsync(garbage);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task Garbage_frames_inside_tls_are_disconnected()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        await hostile.WriteRawAsync([0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_length_prefix_of_two_to_the_62_is_disconnected()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        await hostile.WriteRawAsync([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_truncated_frame_is_disconnected_at_the_read_timeout()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        // Announce 1000 bytes, send 10, then stall.
        var partial = new byte[12];
        FrameWriter.WriteVarint(1000, partial);
        await hostile.WriteRawAsync(partial);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_valid_frame_of_the_wrong_type_is_disconnected()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        await hostile.WriteFrameAsync(new Frame { RequestId = 1, Response = new Response { Ping = new PingResponse() } });
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_second_hello_is_disconnected()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        await hostile.WriteFrameAsync(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 0) });
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_silent_peer_is_disconnected_at_the_handshake_timeout()
    {
        await using var hostile = await HostileClient.ConnectRawAsync(_server.Server.LocalEndPoint);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_version_1_peer_is_refused_with_a_clear_error_and_the_node_keeps_serving_others()
    {
        // Version 2 changed the wire; a peer that offers only version 1 must learn why it is refused, not hang or
        // meet a frame it cannot parse, and the node must drop it and go on serving everyone else.
        await using var old = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint,
            hello: new Hello { ProtocolVersion = 1, MinProtocolVersion = 1, ListenPort = 4000, MaxFrameSize = RpcOptions.DefaultMaxFrameSize, Agent = "zentalk-meshstorage/0.1" });
        var answer = await old.ReadFrameAsync();
        Assert.That(answer, Is.Not.Null);
        Assert.That(answer!.BodyCase, Is.EqualTo(Frame.BodyOneofCase.Response));
        Assert.That(answer.Response.Status.Code, Is.EqualTo(StatusCode.UnsupportedVersion));
        Assert.That(answer.Response.Status.Message, Is.EqualTo(
            "This node speaks protocol versions 2..3; the peer offered 1..1. Upgrade the older node."));
        await AssertDisconnectedWhileOthersAreServed(old);
    }

    [Test]
    public async Task A_request_with_too_many_repeated_entries_gets_invalid_argument_and_the_connection_goes_on()
    {
        // Regression: HAS_SHARDS and DELETE_SHARDS took millions of entries, each built by protobuf before any check.
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        var request = new DeleteShardsRequest();
        for (int i = 0; i <= FrameShape.MaxRepeatedEntries; i++) request.ShardHashes.Add(ByteString.CopyFrom([1]));
        await hostile.WriteFrameAsync(new Frame { RequestId = 21, Request = new Request { DeleteShards = request } });
        await hostile.WriteFrameAsync(new Frame { RequestId = 22, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([3]) } } });
        using var reader = new FrameReader(hostile.Stream, RpcOptions.DefaultMaxFrameSize);
        var refused = await reader.ReadAsync(CancellationToken.None);
        Assert.That(refused!.RequestId, Is.EqualTo(21));
        Assert.That(refused.Response.Status.Code, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(refused.Response.Status.Message, Does.Contain("more than 1024 entries in zentalk.mesh.v1.DeleteShardsRequest.shard_hashes"));
        var pong = await reader.ReadAsync(CancellationToken.None);
        Assert.That(pong!.RequestId, Is.EqualTo(22));
        Assert.That(pong.Response.Ping.Payload[0], Is.EqualTo(3));
    }

    [Test]
    public async Task An_answer_with_too_many_repeated_entries_fails_the_call_with_a_protocol_error()
    {
        var peers = new FindNodeResponse();
        for (int i = 0; i <= FrameShape.MaxRepeatedEntries; i++) peers.CloserPeers.Add(new PeerInfo { Port = 1 });
        await using var liar = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: new FixedAnswer(new Response { FindNode = peers }));
        var ex = Assert.ThrowsAsync<ProtocolException>(async () => await _goodClient.Client.CallAsync(liar.Contact,
            new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(new byte[32]) } }, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("closer_peers"));
    }

    private sealed class FixedAnswer(Response response) : IRpcRequestHandler
    {
        public ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken) => ValueTask.FromResult(response);
    }

    [Test]
    public async Task A_peer_silent_after_tls_is_disconnected_before_the_version_exchange_completes()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint, sendHello: false);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }

    [Test]
    public async Task A_peer_silent_after_the_handshake_is_disconnected_when_idle()
    {
        await using var hostile = await HostileClient.ConnectAsync(_server.Server.LocalEndPoint);
        await AssertDisconnectedWhileOthersAreServed(hostile);
    }
}
