using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>
/// SslStream writes each TLS record to the socket on its own; the frame writer corks each batch so that a shard's
/// records leave in one send (<see cref="RecordCoalescingStream"/>). The handshake is never corked: it must not wait
/// for a flush SslStream never asks for.
/// </summary>
public class RecordCoalescingTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task A_100_KiB_put_leaves_in_one_send_and_its_shard_round_trips(CancellationToken ct)
    {
        var sends = new List<CountingStream>();
        var store = new InMemoryShardHandler();
        await using var holder = new RpcTestPeer(RpcTestPeer.RoomyOptions, shards: store);
        await using var uploader = new RpcTestPeer(new RpcOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(15),
            ReadTimeout = TimeSpan.FromSeconds(15),
            IdleTimeout = TimeSpan.FromSeconds(30),
            DefaultCallTimeout = TimeSpan.FromSeconds(15),
            OutboundTransport = (stream, _) =>
            {
                var counting = new CountingStream(stream);
                lock (sends) sends.Add(counting);
                return counting;
            },
        });
        // The handshake and a first call, uncorked and corked: both get through.
        await uploader.Client.CallAsync(holder.Contact, new Request { Ping = new PingRequest() }, TimeSpan.FromSeconds(10), ct);
        Assert.That(sends, Has.Count.EqualTo(1));
        var socket = sends[0];

        var shard = RandomNumberGenerator.GetBytes(100 * 1024 + 17);
        var hash = SHA256.HashData(shard);
        int before = socket.Writes;
        long bytesBefore = socket.BytesWritten;
        await uploader.Client.CallAsync(holder.Contact, new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = ByteString.CopyFrom(shard) } },
            TimeSpan.FromSeconds(10), ct);
        Assert.That(socket.Writes - before, Is.EqualTo(1), "the put's seven TLS records went out in one send");
        Assert.That(socket.BytesWritten - bytesBefore, Is.GreaterThan(shard.Length), "the send carried the whole frame");

        var buffer = new byte[shard.Length];
        var got = await uploader.Client.GetShardAsync(holder.Contact, hash, buffer, TimeSpan.FromSeconds(10), ct);
        Assert.That(got.ToArray(), Is.EqualTo(shard));
    }

    [Test]
    public async Task Uncorked_writes_pass_through_and_corked_ones_leave_together_at_the_flush_in_order()
    {
        var sink = new MemoryStream();
        var counting = new CountingStream(sink);
        var stream = new RecordCoalescingStream(counting);
        await stream.WriteAsync(new byte[] { 1, 2 });
        Assert.That(counting.Writes, Is.EqualTo(1), "uncorked: straight through");

        stream.Cork();
        await stream.WriteAsync(new byte[] { 3 });
        await stream.WriteAsync(new byte[] { 4, 5 });
        Assert.That(counting.Writes, Is.EqualTo(1), "corked: gathered");
        await stream.FlushAsync();
        Assert.That(counting.Writes, Is.EqualTo(2), "the flush sends what was gathered in one write");

        await stream.WriteAsync(new byte[] { 6 });
        Assert.That(counting.Writes, Is.EqualTo(3), "a flush uncorks");
        Assert.That(sink.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public async Task A_corked_batch_larger_than_the_buffer_goes_out_in_order_in_few_sends()
    {
        var sink = new MemoryStream();
        var counting = new CountingStream(sink);
        var stream = new RecordCoalescingStream(counting);
        var expected = new MemoryStream();
        stream.Cork();
        var random = new Random(7);
        // Record-sized writes, then one larger than the whole buffer, then more records.
        foreach (int size in new[] { 16_406, 16_406, 16_406, 16_406, 16_406, 16_406, 16_406, 16_406, 16_406, RecordCoalescingStream.Capacity + 5, 100, 16_406 })
        {
            var chunk = new byte[size];
            random.NextBytes(chunk);
            await stream.WriteAsync(chunk);
            expected.Write(chunk);
        }

        await stream.FlushAsync();
        Assert.That(sink.ToArray(), Is.EqualTo(expected.ToArray()));
        // The first 7 records leave when the 8th does not fit, the 8th and 9th when the large write comes (which goes on
        // its own), the last two at the flush.
        Assert.That(counting.Writes, Is.EqualTo(4));
    }

    /// <summary>Passes everything through to a real stream and counts the writes that reach it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private int _writes;
        private long _bytes;

        public int Writes => Volatile.Read(ref _writes);

        public long BytesWritten => Interlocked.Read(ref _bytes);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            Interlocked.Add(ref _bytes, buffer.Length);
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override bool CanRead => inner.CanRead;

        public override bool CanWrite => inner.CanWrite;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
