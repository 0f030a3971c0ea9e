using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class FrameReaderTests
{
    private static byte[] Encode(params Frame[] frames)
    {
        var ms = new MemoryStream();
        Span<byte> prefix = stackalloc byte[5];
        foreach (var f in frames)
        {
            var body = f.ToByteArray();
            int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
            ms.Write(prefix[..n]);
            ms.Write(body);
        }
        return ms.ToArray();
    }

    private static Frame Ping(ulong id, int payload = 0) => new()
    {
        RequestId = id,
        Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[payload]) } },
    };

    [Test]
    public async Task A_peer_announcing_a_maximum_size_frame_and_trickling_bytes_does_not_make_the_reader_allocate_the_whole_frame()
    {
        // Regression: the reader allocated the announced length at once, so 100 slowloris connections announcing
        // 1 MiB frames held 100 MiB for the read timeout (4 MiB each with the default maximum frame).
        var start = new List<byte>();
        Span<byte> prefix = stackalloc byte[5];
        int n = FrameWriter.WriteVarint((uint)RpcOptions.DefaultMaxFrameSize, prefix);
        start.AddRange(prefix[..n].ToArray());
        start.AddRange(new byte[100]);
        var stream = new StallingStream(start.ToArray());
        using var reader = new FrameReader(stream, RpcOptions.DefaultMaxFrameSize);
        using var stop = new CancellationTokenSource();
        // The stream answers synchronously until it stalls, so everything the reader allocates for this frame happens on
        // this thread before ReadAsync returns: the per-thread count is exact and blind to other tests' threads.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var read = reader.ReadAsync(stop.Token).AsTask();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        await stream.Stalled.WaitAsync(TimeSpan.FromSeconds(10));
        await stop.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await read);
        Assert.That(allocated, Is.LessThan(1L << 20), "memory follows the bytes received, not the length announced");
    }

    [Test]
    public async Task A_frame_that_does_not_fit_the_budget_is_not_read_until_it_does()
    {
        // Regression: the budget was charged after the frame had been read and parsed, so every connection could park
        // one maximum frame in memory outside it.
        var budget = new ByteBudget(1024 * 1024);
        long other = await budget.AcquireAsync(900 * 1024, CancellationToken.None);
        var wire = Encode(Ping(7, 512 * 1024), Ping(8, 10));
        var stream = new MemoryStream(wire);
        using var reader = new FrameReader(stream, RpcOptions.DefaultMaxFrameSize) { Budget = budget };
        var read = reader.ReadAsync(CancellationToken.None).AsTask();
        // The reader says when it parks on the budget: wait for that rather than a fixed time.
        await Eventually.TrueAsync(() => reader.WaitingForBudget || read.IsCompleted, TimeSpan.FromSeconds(10), "the reader reaches the frame that does not fit");
        Assert.That(read.IsCompleted, Is.False, "the frame waits for the budget");
        Assert.That(reader.WaitingForBudget, Is.True);
        Assert.That(reader.FrameStartedTicks, Is.Zero, "waiting for the budget is not the peer being slow");
        Assert.That(stream.Position, Is.LessThanOrEqualTo(64 * 1024), "no more than the reader's fixed buffer was read");

        budget.Release(other);
        var frame = await read.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(frame!.RequestId, Is.EqualTo(7));
        long held = reader.TakeReserved();
        Assert.That(held, Is.EqualTo(Encode(Ping(7, 512 * 1024)).Length), "the frame holds its wire size, prefix included");
        Assert.That(budget.Available, Is.EqualTo(budget.Capacity - held));

        // A frame the caller does not take is given back by the next read; a failed read gives back its own.
        Assert.That((await reader.ReadAsync(CancellationToken.None))!.RequestId, Is.EqualTo(8));
        budget.Release(held);
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.Null);
        Assert.That(budget.Available, Is.EqualTo(budget.Capacity));
    }

    [TestCase(100)]
    [TestCase(200_000)]
    public async Task Unknown_fields_are_dropped_at_every_depth_and_on_the_fast_paths(int shardSize)
    {
        // Regression: unknown fields were kept and went along with everything kept or re-sent from the message.
        byte[] junk = [0xFA, 0x06, 0x04, 1, 2, 3, 4]; // field 111, 4 bytes
        var record = new ValueRecord { Key = ByteString.CopyFrom(new byte[32]), Value = ByteString.CopyFrom([9]), Type = 0x5A46 };
        var recordWithJunk = ValueRecord.Parser.ParseFrom([.. record.ToByteArray(), .. junk]);
        var data = new byte[shardSize];
        var put = new PutShardRequest { ShardHash = ByteString.CopyFrom(new byte[32]), Data = ByteString.CopyFrom(data), FileRecord = recordWithJunk };
        var clean = new Frame { RequestId = 1, Request = new Request { PutShard = put.Clone() } };
        clean.Request.PutShard.FileRecord = record;

        var getShard = new Frame { RequestId = 2, Response = new Response { Status = new Status { Code = StatusCode.Ok }, GetShard = new GetShardResponse { Data = ByteString.CopyFrom(data) } } };
        var statusWithJunk = Status.Parser.ParseFrom([.. getShard.Response.Status.ToByteArray(), .. junk]);
        var getWithJunk = getShard.Clone();
        getWithJunk.Response.Status = statusWithJunk;

        var hello = RpcHandshake.LocalHello(new RpcOptions(), 4000);
        var helloWithJunk = Hello.Parser.ParseFrom([.. hello.ToByteArray(), .. junk]);

        var wire = Encode(new Frame { RequestId = 1, Request = new Request { PutShard = put } }, getWithJunk, new Frame { Hello = helloWithJunk });
        using var reader = new FrameReader(new MemoryStream(wire), RpcOptions.DefaultMaxFrameSize);
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(clean));
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(getShard));
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(new Frame { Hello = hello }));
    }

    [Test]
    public async Task A_request_over_the_repeated_field_cap_is_refused_with_its_id_and_the_next_frame_still_reads()
    {
        var tooMany = new HasShardsRequest();
        for (int i = 0; i < FrameShape.MaxRepeatedEntries + 1; i++) tooMany.ShardHashes.Add(ByteString.CopyFrom(new byte[32]));
        var wire = Encode(new Frame { RequestId = 11, Request = new Request { HasShards = tooMany } }, Ping(12));
        var budget = new ByteBudget(1 << 20);
        using var reader = new FrameReader(new MemoryStream(wire), RpcOptions.DefaultMaxFrameSize) { Budget = budget };
        var refused = Assert.ThrowsAsync<RefusedRequestException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.That(refused!.RequestId, Is.EqualTo(11));
        Assert.That(budget.Available, Is.EqualTo(budget.Capacity), "a refused frame gives its budget back");
        Assert.That((await reader.ReadAsync(CancellationToken.None))!.RequestId, Is.EqualTo(12));
    }

    /// <summary>Returns its bytes, then blocks every read until cancelled.</summary>
    private sealed class StallingStream(byte[] bytes) : Stream
    {
        private int _position;
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Stalled => _stalled.Task;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position < bytes.Length)
            {
                int n = Math.Min(buffer.Length, bytes.Length - _position);
                bytes.AsMemory(_position, n).CopyTo(buffer);
                _position += n;
                return n;
            }

            _stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public async Task Frames_round_trip_including_frames_larger_than_the_read_buffer()
    {
        var frames = new[] { Ping(1), Ping(2, 200_000), Ping(3, 10), Ping(4, 70_000) };
        using var reader = new FrameReader(new MemoryStream(Encode(frames)), RpcOptions.DefaultMaxFrameSize);
        foreach (var expected in frames)
            Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(expected));
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Large_frames_read_through_pooled_buffers_keep_their_bytes_after_later_frames()
    {
        // Large frames are read into pooled arrays (rounded up in size) that go back to the pool once parsed: a parsed
        // frame must own its bytes, and the reader must never take the next frame's bytes into a longer array.
        var frames = Enumerable.Range(1, 6).Select(i =>
        {
            var payload = new byte[90_000 + (i * 7_919)];
            Random.Shared.NextBytes(payload);
            return new Frame { RequestId = (ulong)i, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(payload) } } };
        }).ToArray();
        using var reader = new FrameReader(new MemoryStream(Encode(frames)), RpcOptions.DefaultMaxFrameSize);
        var read = new List<Frame>();
        for (int i = 0; i < frames.Length; i++) read.Add((await reader.ReadAsync(CancellationToken.None))!);
        Assert.That(await reader.ReadAsync(CancellationToken.None), Is.Null);
        Assert.That(read, Is.EqualTo(frames));
    }

    [Test]
    public async Task Frames_arriving_one_byte_at_a_time_are_reassembled()
    {
        var frames = new[] { Ping(1, 100), Ping(2, 3) };
        using var reader = new FrameReader(new TrickleStream(Encode(frames)), RpcOptions.DefaultMaxFrameSize);
        foreach (var expected in frames)
            Assert.That(await reader.ReadAsync(CancellationToken.None), Is.EqualTo(expected));
    }

    [Test]
    public void A_length_prefix_of_two_to_the_62_is_refused_before_reading_the_body()
    {
        var bytes = new byte[9];
        ulong v = 1UL << 62;
        int i = 0;
        while (v >= 0x80) { bytes[i++] = (byte)(v | 0x80); v >>= 7; }
        bytes[i] = (byte)v;
        using var reader = new FrameReader(new MemoryStream(bytes), RpcOptions.DefaultMaxFrameSize);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.That(ex!.Message, Does.Match("larger than|longer than"));
    }

    [Test]
    public void A_prefix_just_over_the_maximum_is_refused()
    {
        Span<byte> prefix = stackalloc byte[5];
        int n = FrameWriter.WriteVarint(1025 * 64 * 2, prefix);
        using var reader = new FrameReader(new MemoryStream(prefix[..n].ToArray()), 128 * 1024);
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Test]
    public void An_overlong_varint_is_refused()
    {
        // Six continuation bytes encoding a small value: not canonical, and longer than any legal prefix.
        using var reader = new FrameReader(new MemoryStream([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), RpcOptions.DefaultMaxFrameSize);
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Test]
    public void A_truncated_frame_is_reported_as_truncated()
    {
        var bytes = Encode(Ping(1, 500));
        using var reader = new FrameReader(new MemoryStream(bytes[..^10]), RpcOptions.DefaultMaxFrameSize);
        var ex = Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
        Assert.That(ex!.Message, Does.Contain("truncated"));
    }

    [Test]
    public void A_truncated_large_frame_is_reported_as_truncated()
    {
        var bytes = Encode(Ping(1, 300_000));
        using var reader = new FrameReader(new MemoryStream(bytes[..^1]), RpcOptions.DefaultMaxFrameSize);
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Test]
    public void Garbage_is_refused_as_a_protocol_error()
    {
        var garbage = new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
        using var reader = new FrameReader(new MemoryStream(garbage), RpcOptions.DefaultMaxFrameSize);
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Test]
    public void Random_garbage_never_escapes_as_anything_but_a_protocol_error_or_a_frame()
    {
        var rng = new Random(5);
        for (int round = 0; round < 500; round++)
        {
            var bytes = new byte[rng.Next(1, 300)];
            rng.NextBytes(bytes);
            using var reader = new FrameReader(new MemoryStream(bytes), 64 * 1024 * 2);
            try
            {
                while (reader.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is not null) { }
            }
            catch (ProtocolException)
            {
                // Expected for most inputs.
            }
        }
        Assert.Pass("No exception other than ProtocolException escaped 500 random inputs.");
    }

    [Test]
    public void An_empty_frame_is_refused()
    {
        using var reader = new FrameReader(new MemoryStream([0x00]), RpcOptions.DefaultMaxFrameSize);
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
    }

    [Test]
    public void Sending_a_frame_over_the_maximum_is_refused_with_the_parameter_name()
    {
        var writer = new FrameWriter(Stream.Null, 128 * 1024, 4);
        var ex = Assert.Throws<ArgumentException>(() => writer.EnqueueAsync(Ping(1, 200_000), CancellationToken.None));
        Assert.That(ex!.ParamName, Is.EqualTo("frame"));
    }

    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pos == data.Length || count == 0) return 0;
            buffer[offset] = data[_pos++];
            return 1;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_pos == data.Length || buffer.Length == 0) return ValueTask.FromResult(0);
            buffer.Span[0] = data[_pos++];
            return ValueTask.FromResult(1);
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
