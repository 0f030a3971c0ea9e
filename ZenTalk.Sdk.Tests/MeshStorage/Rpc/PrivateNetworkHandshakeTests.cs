using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>The private network proof in the version exchange, over real TLS on loopback (docs/protocol.md §2.1).</summary>
public class PrivateNetworkHandshakeTests
{
    private static RpcOptions Member(PrivateNetworkKey key) => new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(15),
        ReadTimeout = TimeSpan.FromSeconds(15),
        IdleTimeout = TimeSpan.FromSeconds(30),
        PrivateNetwork = new PrivateNetwork(key.Secret),
    };

    private static Request Ping(byte b) => new() { Ping = new PingRequest { Payload = ByteString.CopyFrom([b]) } };

    private static Task<Response> CallAsync(RpcTestPeer from, PeerContact to, byte b) =>
        from.Client.CallAsync(to.EndPoint, to.Id, Ping(b), TimeSpan.FromSeconds(15), CancellationToken.None);

    [Test]
    public async Task Members_talk_and_every_other_peer_is_refused_in_the_handshake_whichever_side_dials()
    {
        var key = PrivateNetworkKey.Generate();
        await using var a = new RpcTestPeer(Member(key));
        await using var b = new RpcTestPeer(Member(key));
        await using var outsider = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var otherNetwork = new RpcTestPeer(Member(PrivateNetworkKey.Generate()));

        Assert.That((await CallAsync(a, b.Contact, 7)).Ping.Payload[0], Is.EqualTo(7));
        Assert.That((await CallAsync(b, a.Contact, 8)).Ping.Payload[0], Is.EqualTo(8));

        var ex = Assert.ThrowsAsync<PrivateNetworkException>(async () => await CallAsync(outsider, b.Contact, 1));
        Assert.That(ex!.Message, Does.Contain($"This node admits only members of private network {key.Id}; the peer is refused: it sent no network proof"));
        ex = Assert.ThrowsAsync<PrivateNetworkException>(async () => await CallAsync(otherNetwork, b.Contact, 1));
        Assert.That(ex!.Message, Does.Contain("its network proof does not verify"));

        // A member dialing out refuses listeners that are not members too (found through a FIND_NODE answer, say).
        ex = Assert.ThrowsAsync<PrivateNetworkException>(async () => await CallAsync(b, outsider.Contact, 1));
        Assert.That(ex!.Message, Does.Contain("This node is not in a private network"));
        ex = Assert.ThrowsAsync<PrivateNetworkException>(async () => await CallAsync(b, otherNetwork.Contact, 1));
        Assert.That(ex!.Message, Does.Contain("does not verify"));
        Assert.That(b.Server.ConnectionCount, Is.EqualTo(1), "only the member's connection stays");
    }

    [Test]
    public async Task A_node_outside_a_private_network_still_serves_protocol_2_peers_and_a_member_refuses_them()
    {
        var version2 = new Hello { ProtocolVersion = 2, MinProtocolVersion = 2, ListenPort = 1, MaxFrameSize = RpcOptions.DefaultMaxFrameSize, Agent = "v2" };
        // A protocol-2 listener (disposed after the nodes that dial it, so their connections close first).
        await using var oldListener = new ScriptedListener(async (_, ssl) =>
        {
            using var reader = new FrameReader(ssl, RpcOptions.DefaultMaxFrameSize);
            await reader.ReadAsync(CancellationToken.None);
            await ssl.WriteAsync(FuzzCorpus.Wire(new Frame { Hello = version2 }));
            while (await reader.ReadAsync(CancellationToken.None) is { } call)
                await ssl.WriteAsync(FuzzCorpus.Wire(new Frame { RequestId = call.RequestId, Response = new Response { Status = new Status(), Ping = new PingResponse { Payload = call.Request.Ping.Payload } } }));
        });
        await using var open = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using (var old = await HostileClient.ConnectAsync(open.Server.LocalEndPoint, hello: version2))
        {
            var hello = await old.ReadFrameAsync();
            Assert.That(hello!.Hello, Is.Not.Null, "a protocol-2 dialer is admitted");
            Assert.That(hello.Hello.MinProtocolVersion, Is.EqualTo(2u));
            await old.WriteFrameAsync(new Frame { RequestId = 1, Request = Ping(4) });
            var answer = await old.ReadFrameAsync();
            Assert.That(answer!.Response.Ping.Payload[0], Is.EqualTo(4));
        }

        // A node outside a private network dials a protocol-2 listener and is served.
        Assert.That((await CallAsync(open, oldListener.Contact, 6)).Ping.Payload[0], Is.EqualTo(6));

        await using var member = new RpcTestPeer(Member(PrivateNetworkKey.Generate()));
        await using var refused = await HostileClient.ConnectAsync(member.Server.LocalEndPoint, hello: version2);
        var refusal = await refused.ReadFrameAsync();
        Assert.That(refusal!.Response.Status.Code, Is.EqualTo(StatusCode.Unauthorized));
        Assert.That(refusal.Response.Status.Message, Does.Contain("it speaks protocol 2..2, without the private network handshake"));
        Assert.That(await refused.WaitForDisconnectAsync(TimeSpan.FromSeconds(10)), Is.True);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () => await CallAsync(member, oldListener.Contact, 1));
        Assert.That(ex!.Message, Does.Contain("speaks protocol versions 2..2; this node speaks 3..3"));
    }

    [Test]
    public async Task A_proof_a_member_showed_a_stranger_is_worth_nothing_to_the_stranger()
    {
        // A member dials a stranger (named in some FIND_NODE answer): its Hello, proof included, goes to the stranger first.
        var key = PrivateNetworkKey.Generate();
        var shown = new TaskCompletionSource<Hello>();
        await using var stranger = new ScriptedListener(async (_, ssl) =>
        {
            using var reader = new FrameReader(ssl, RpcOptions.DefaultMaxFrameSize);
            shown.TrySetResult((await reader.ReadAsync(CancellationToken.None))!.Hello);
        });
        await using var a = new RpcTestPeer(Member(key));
        await using var b = new RpcTestPeer(Member(key));
        Assert.CatchAsync<ProtocolException>(async () => await CallAsync(a, stranger.Contact, 1));
        var captured = await shown.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(captured.NetworkProof.Length, Is.EqualTo(32));

        // The stranger presents it to another member, under its own TLS identity (it cannot prove the member's).
        await using var relay = await HostileClient.ConnectAsync(b.Server.LocalEndPoint, hello: captured, tls: HostileTls.ClientOptions(stranger.Identity));
        var answer = await relay.ReadFrameAsync();
        Assert.That(answer!.Response.Status.Code, Is.EqualTo(StatusCode.Unauthorized));
        Assert.That(answer.Response.Status.Message, Does.Contain("its network proof does not verify"));
        Assert.That(b.Server.ConnectionCount, Is.Zero);
    }
}
