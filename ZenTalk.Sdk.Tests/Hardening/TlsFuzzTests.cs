using System.Net;
using System.Net.Security;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.Sdk.Tests.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// The same mutated frames over real TLS (200 connections, each a full handshake) on loopback into a running node (RPC server, router, DHT): every hostile
/// connection ends with a clean disconnect, no handler logs an unexpected exception, and an honest client is served
/// throughout and afterwards.
/// </summary>
public class TlsFuzzTests
{
    [Test]
    public async Task A_node_survives_200_tls_connections_of_mutated_frames_and_keeps_serving_an_honest_client()
    {
        var loggers = new CountingLoggerFactory();
        var options = new RpcOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(15),
            ReadTimeout = TimeSpan.FromSeconds(15),
            IdleTimeout = TimeSpan.FromSeconds(30),
            MaxInboundConnectionsPerAddress = 64,
        };
        using var identity = NodeIdentity.CreateEphemeral();
        await using var node = DhtNetworkNode.Start(identity, new IPEndPoint(IPAddress.Loopback, 0), options,
            new DhtOptions { AllowLoopbackClusters = true }, loggers: loggers);
        using var honestIdentity = NodeIdentity.CreateEphemeral();
        await using var honest = new RpcClient(honestIdentity, options);

        var m = new Mutator(8006);
        var frames = FuzzCorpus.Frames(m.Random).Where(f => f.BodyCase == Frame.BodyOneofCase.Request).ToList();
        var ping = FuzzCorpus.Wire(new Frame { RequestId = 1UL << 50, Request = new Request { Ping = new PingRequest() } });
        int disconnected = 0, answered = 0;
        const int Cases = 200;
        for (int i = 0; i < Cases; i++)
        {
            byte[] bytes;
            var seed = frames[m.Random.Next(frames.Count)];
            if (m.Random.Next(10) < 7)
            {
                // A correctly framed but mutated body reaches the dispatch path more often than raw mutations.
                var body = m.Mutate(seed.ToByteArray());
                var prefix = new byte[5];
                int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
                bytes = [.. prefix.AsSpan(0, n), .. body];
            }
            else bytes = m.Mutate(FuzzCorpus.Wire(seed));

            await using var hostile = await HostileClient.ConnectAsync(node.Server.LocalEndPoint);
            await hostile.WriteRawAsync([.. bytes, .. ping]);
            var ssl = (SslStream)hostile.Stream;
            await ssl.ShutdownAsync(); // close_notify: the server sees the end of the stream after our bytes
            if (await hostile.WaitForDisconnectAsync(TimeSpan.FromSeconds(20))) disconnected++;
            if (i % 40 == 0)
            {
                var r = await honest.CallAsync(node.Contact, new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([7]) } }, TimeSpan.FromSeconds(15), CancellationToken.None);
                Assert.That(r.Ping.Payload[0], Is.EqualTo(7));
                answered++;
            }
        }

        Assert.That(disconnected, Is.EqualTo(Cases), "every hostile connection must end in a disconnect");
        var find = await honest.CallAsync(node.Contact, new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(new byte[32]) } }, TimeSpan.FromSeconds(15), CancellationToken.None);
        Assert.That(find.Status.Code, Is.EqualTo(StatusCode.Ok));
        Assert.That(answered, Is.EqualTo(Cases / 40));
        for (int i = 0; i < 500 && node.Server.ConnectionCount + node.Server.HandshakesInProgress > 1; i++) await Task.Delay(10);
        Assert.That(node.Server.ConnectionCount + node.Server.HandshakesInProgress, Is.LessThanOrEqualTo(1), "hostile connections are released");
        Assert.That(loggers.Warnings, Is.Zero, string.Join("\n", loggers.Messages));
        TestContext.Out.WriteLine($"TLS fuzz: {Cases} connections, {disconnected} clean disconnects, {loggers.Warnings} unexpected handler exceptions");
    }
}
