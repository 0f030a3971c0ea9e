using System.Net;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>
/// A dial that fails at once — the node's own address went away (its interface went down, DHCP gave it another), so
/// binding the outgoing socket to it fails before anything is sent — must fail the call, not dial again in a loop.
/// Found by the testnet: a node left in a namespace whose link was gone dialed its bootstrap peer without pause, at
/// 70 % of a core, for as long as it ran, and the bootstrap call never returned.
/// </summary>
public class RpcDialFailureTests
{
    // 0.0.0.0/8 is "this network": no interface has an address in it, so binding to one fails (EADDRNOTAVAIL) before
    // any packet exists.
    private static readonly IPAddress GoneAddress = IPAddress.Parse("0.0.0.1");

    private static Request Ping() => new() { Ping = new PingRequest { Payload = ByteString.CopyFrom(1) } };

    [Test]
    [CancelAfter(60_000)]
    public async Task A_dial_that_fails_at_once_fails_the_call_instead_of_dialing_again_without_end(CancellationToken ct)
    {
        await using var server = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        using var identity = NodeIdentity.CreateEphemeral();
        await using var client = new RpcClient(identity, RpcTestPeer.RoomyOptions) { LocalBindAddress = GoneAddress };

        for (int call = 0; call < 2; call++)
        {
            // Run apart, so that a call that never ends fails this test instead of hanging it.
            var pending = Task.Run(async () => await client.CallAsync(server.Contact, Ping(), TimeSpan.FromSeconds(5), ct), CancellationToken.None);
            var first = await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(20), ct));
            Assert.That(first, Is.SameAs(pending), $"call {call + 1} ended (the call budget is 5 s)");
            var error = Assert.ThrowsAsync<ProtocolException>(async () => await pending);
            Assert.That(error!.Message, Does.Contain($"Could not connect to {server.Contact.EndPoint}"));
        }

        // The same client reaches the peer once its address is back.
        client.LocalBindAddress = IPAddress.Loopback;
        var answer = await client.CallAsync(server.Contact, Ping(), TimeSpan.FromSeconds(10), ct);
        Assert.That(answer.KindCase, Is.EqualTo(Response.KindOneofCase.Ping));
    }
}
