using System.Collections.Concurrent;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>
/// A pooled connection whose peer went silent (a partition that healed while TCP sat in its retransmission backoff,
/// a NAT or firewall that forgot the connection) must not keep every later call waiting out its deadline. Found by the
/// testnet: after a 60 s partition healed, calls across it kept timing out for minutes on the connections of the cut.
/// </summary>
public class RpcSilentPeerTests
{
    private static Request Ping(byte tag) => new() { Ping = new PingRequest { Payload = ByteString.CopyFrom(tag) } };

    private static RpcOptions ClientOptions(ConcurrentQueue<MutableStream> dialed) => new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        ReadTimeout = TimeSpan.FromSeconds(1),
        IdleTimeout = TimeSpan.FromSeconds(60),
        DefaultCallTimeout = TimeSpan.FromSeconds(10),
        OutboundTransport = (stream, _) =>
        {
            var s = new MutableStream(stream);
            dialed.Enqueue(s);
            return s;
        },
    };

    [Test]
    [CancelAfter(60_000)]
    public async Task A_connection_whose_peer_sent_nothing_for_the_read_timeout_is_dropped_and_the_next_call_dials_again(CancellationToken ct)
    {
        var dialed = new ConcurrentQueue<MutableStream>();
        await using var server = new RpcTestPeer(RpcTestPeer.RoomyOptions);
        await using var client = new RpcTestPeer(ClientOptions(dialed));
        await client.Client.CallAsync(server.Contact, Ping(1), TimeSpan.FromSeconds(10), ct);
        Assert.That(dialed, Has.Count.EqualTo(1));

        // The open connection goes silent both ways; new connections are not affected.
        foreach (var s in dialed) s.Mute();
        Assert.ThrowsAsync<TimeoutException>(async () => await client.Client.CallAsync(server.Contact, Ping(2), TimeSpan.FromMilliseconds(300), ct));
        Assert.That(dialed, Has.Count.EqualTo(1), "one timeout within the read timeout keeps the connection");

        // Calls go on timing out until the peer has been silent for the read timeout; the call after that dials again.
        int timeouts = 0;
        Response? answer = null;
        for (int i = 0; i < 20 && answer is null; i++)
        {
            try
            {
                answer = await client.Client.CallAsync(server.Contact, Ping(3), TimeSpan.FromMilliseconds(400), ct);
            }
            catch (TimeoutException)
            {
                timeouts++;
            }
            catch (ZenTalk.MeshStorage.ProtocolException)
            {
                // A call that was waiting when the silent connection was dropped.
            }
        }

        Assert.That(answer, Is.Not.Null, $"every call timed out on the silent connection ({timeouts} timeouts)");
        Assert.That(answer!.Ping.Payload.ToByteArray(), Is.EqualTo(new byte[] { 3 }));
        Assert.That(dialed, Has.Count.EqualTo(2), "the silent connection was replaced by one new connection");
        Assert.That(timeouts, Is.LessThanOrEqualTo(6), "dropped soon after the read timeout (1 s) of silence");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_slow_call_on_a_connection_that_answers_others_keeps_the_connection(CancellationToken ct)
    {
        var dialed = new ConcurrentQueue<MutableStream>();
        var slow = new SlowPingHandler(slowTag: 9, delay: TimeSpan.FromSeconds(3));
        await using var server = new RpcTestPeer(RpcTestPeer.RoomyOptions, handler: slow);
        await using var client = new RpcTestPeer(ClientOptions(dialed));
        await client.Client.CallAsync(server.Contact, Ping(1), TimeSpan.FromSeconds(10), ct);

        // The slow call outlives the read timeout, but the peer keeps answering other calls meanwhile.
        var slowCall = client.Client.CallAsync(server.Contact, Ping(9), TimeSpan.FromMilliseconds(1500), ct).AsTask();
        while (!slowCall.IsCompleted)
        {
            await client.Client.CallAsync(server.Contact, Ping(2), TimeSpan.FromSeconds(10), ct);
            await Task.Delay(100, ct);
        }

        Assert.ThrowsAsync<TimeoutException>(async () => await slowCall);
        await client.Client.CallAsync(server.Contact, Ping(4), TimeSpan.FromSeconds(10), ct);
        Assert.That(dialed, Has.Count.EqualTo(1), "a slow answer is not silence: the connection stays");
    }

    /// <summary>Answers pings at once, except those whose payload is <paramref name="slowTag"/>, after <paramref name="delay"/>.</summary>
    private sealed class SlowPingHandler(byte slowTag, TimeSpan delay) : IRpcRequestHandler
    {
        public async ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            if (request.Ping.Payload.Length == 1 && request.Ping.Payload[0] == slowTag)
                await Task.Delay(delay, cancellationToken);
            return new Response { Ping = new PingResponse { Payload = request.Ping.Payload } };
        }
    }

    /// <summary>
    /// A TCP stream that can be made silent: after <see cref="Mute"/> nothing written reaches the peer and nothing the
    /// peer sends is read, while the connection stays open (as across a route that vanished), until it is disposed.
    /// </summary>
    internal sealed class MutableStream(Stream inner) : Stream
    {
        private readonly TaskCompletionSource _muted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _disposed = new();

        public void Mute() => _muted.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_muted.Task.IsCompleted)
            {
                var read = inner.ReadAsync(buffer, cancellationToken).AsTask();
                await Task.WhenAny(read, _muted.Task);
                if (!_muted.Task.IsCompleted) return await read;
                _ = read.ContinueWith(t => t.Exception, TaskScheduler.Default); // dropped with whatever it read
            }

            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, both.Token);
            }
            catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
            {
                throw new IOException("the connection was closed");
            }

            return 0;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            _muted.Task.IsCompleted ? ValueTask.CompletedTask : inner.WriteAsync(buffer, cancellationToken);

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            _muted.Task.IsCompleted ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
            if (!_muted.Task.IsCompleted) inner.Flush();
        }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _disposed.Cancel();
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
