using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class LargeShardFramesTests
{
    private static Frame ShardFrame(int size, ulong id, Status? status, ulong total)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        return new Frame { RequestId = id, Response = new Response { Status = status, GetShard = new GetShardResponse { Data = ByteString.CopyFrom(data), TotalSize = total } } };
    }

    private static byte[] Wire(Frame f)
    {
        var body = f.ToByteArray();
        var prefix = new byte[5];
        int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
        return [.. prefix.AsSpan(0, n), .. body];
    }

    [TestCase(70_000, 1UL, true, 70_000UL)]
    [TestCase(1024 * 1024, 123456789UL, true, 0UL)]
    [TestCase(200_000, 0UL, false, 5UL)]
    [TestCase(65_536, 300UL, true, 1UL << 40)]
    public void The_split_writer_produces_exactly_protobufs_bytes(int size, ulong id, bool withStatus, ulong total)
    {
        var frame = ShardFrame(size, id, withStatus ? new Status { Code = StatusCode.Ok } : null, total);
        Assert.That(LargeShardFrames.TrySplit(frame, out var head, out var data, out var tail), Is.True);
        byte[] split = [.. head, .. data.Span, .. tail];
        Assert.That(split, Is.EqualTo(Wire(frame)));
    }

    [TestCase(70_000, 1UL, true, 70_000UL)]
    [TestCase(1024 * 1024, 99UL, false, 0UL)]
    public void The_aliasing_parser_reads_what_protobuf_wrote(int size, ulong id, bool withStatus, ulong total)
    {
        var frame = ShardFrame(size, id, withStatus ? new Status { Code = StatusCode.NotFound, Message = "x" } : null, total);
        var body = frame.ToByteArray();
        Assert.That(LargeShardFrames.TryParse(body, body.Length), Is.EqualTo(frame));
    }

    [Test]
    public void Other_frames_take_the_normal_path()
    {
        var ping = new Frame { RequestId = 1, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[100_000]) } } };
        Assert.That(LargeShardFrames.TrySplit(ping, out _, out _, out _), Is.False);
        var body = ping.ToByteArray();
        Assert.That(LargeShardFrames.TryParse(body, body.Length), Is.Null);
        var small = ShardFrame(100, 1, null, 0);
        Assert.That(LargeShardFrames.TrySplit(small, out _, out _, out _), Is.False);
    }

    [Test]
    public void A_frame_with_an_unknown_field_is_left_to_protobuf()
    {
        var frame = ShardFrame(70_000, 1, null, 0);
        byte[] body = [.. frame.ToByteArray(), 0x78, 0x01]; // field 15 varint appended
        Assert.That(LargeShardFrames.TryParse(body, body.Length), Is.Null);
    }

    /// <summary>
    /// A flipped bit can turn the status's message tag (field 2) into an unknown field (3, 6, 10). The reader's
    /// parser drops unknown fields, and the fast path must read such a frame exactly as that parser does (the fuzz
    /// test once compared it with a parser that keeps them).
    /// </summary>
    [TestCase((byte)0x08)]
    [TestCase((byte)0x20)]
    [TestCase((byte)0x40)]
    public void A_status_with_an_unknown_field_reads_as_the_readers_parser_reads_it(byte flip)
    {
        var frame = ShardFrame(70_000, 7, new Status { Code = StatusCode.Ok, Message = "xxxx" }, 70_000);
        var body = frame.ToByteArray();
        int messageTag = body.AsSpan().IndexOf(new byte[] { 0x12, 4, (byte)'x' });
        Assert.That(messageTag, Is.GreaterThan(0));
        body[messageTag] ^= flip;

        var expected = FrameReader.FrameParser.ParseFrom(body);
        Assert.That(expected.Response.Status.Message, Is.Empty, "the message became an unknown field");
        Assert.That(LargeShardFrames.TryParse((byte[])body.Clone(), body.Length), Is.EqualTo(expected));
        Assert.That(Frame.Parser.ParseFrom(body), Is.Not.EqualTo(expected), "protobuf's default parser keeps the field");
    }

    [Test]
    public void A_corrupt_large_frame_is_left_to_protobuf()
    {
        var body = ShardFrame(70_000, 1, null, 0).ToByteArray();
        Array.Resize(ref body, body.Length - 100);
        Assert.That(LargeShardFrames.TryParse(body, body.Length), Is.Null);
    }

    private static Frame PutFrame(int size, ulong id, uint deadline, bool withCid, bool withDelegation)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        var put = new PutShardRequest
        {
            ShardHash = ByteString.CopyFrom(System.Security.Cryptography.SHA256.HashData(data)),
            Data = ByteString.CopyFrom(data),
        };
        if (withCid) put.FileCid = ByteString.CopyFrom(new byte[32]);
        if (withDelegation)
        {
            put.Delegation = new StoreDelegation
            {
                OwnerPublicKey = ByteString.CopyFrom(new byte[420]), UploaderNodeId = ByteString.CopyFrom(new byte[32]),
                NotAfterUnixMs = 1_900_000_000_000, Signature = ByteString.CopyFrom(new byte[384]),
            };
        }

        return new Frame { RequestId = id, DeadlineMs = deadline, Request = new Request { PutShard = put } };
    }

    [TestCase(70_000, 1UL, 30_000U, false, true)]
    [TestCase(1024 * 1024, 123456789UL, 0U, true, false)]
    [TestCase(104_858, 0UL, 5U, false, false)]
    public void The_put_shard_parser_reads_what_protobuf_wrote_and_aliases_the_shard(int size, ulong id, uint deadline, bool withCid, bool withDelegation)
    {
        var frame = PutFrame(size, id, deadline, withCid, withDelegation);
        var body = frame.ToByteArray();
        var parsed = LargeShardFrames.TryParsePutShard(body, body.Length);
        Assert.That(parsed, Is.EqualTo(frame));
        // The shard is not copied: it is the buffer's own bytes.
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(parsed!.Request.PutShard.Data.Memory, out var segment), Is.True);
        Assert.That(segment.Array, Is.SameAs(body), "aliases the buffer");
    }

    [Test]
    public void A_put_shard_frame_carrying_a_file_record_is_parsed_with_the_record_and_the_shard_aliased()
    {
        var frame = PutFrame(80_000, 9, 1000, false, false);
        frame.Request.PutShard.FileRecord = new ValueRecord { Key = ByteString.CopyFrom(new byte[32]), Value = ByteString.CopyFrom(new byte[900]), Type = 0x5A46 };
        var body = frame.ToByteArray();
        var parsed = LargeShardFrames.TryParsePutShard(body, body.Length);
        Assert.That(parsed, Is.EqualTo(frame));
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(parsed!.Request.PutShard.Data.Memory, out var segment), Is.True);
        Assert.That(segment.Array, Is.SameAs(body), "aliases the buffer");
    }

    [Test]
    public void Put_shard_frames_of_other_shapes_are_left_to_protobuf()
    {
        var frame = PutFrame(70_000, 1, 0, false, true);
        byte[] unknown = [.. frame.ToByteArray(), 0x78, 0x01];
        Assert.That(LargeShardFrames.TryParsePutShard(unknown, unknown.Length), Is.Null);
        var cut = frame.ToByteArray()[..^100];
        Assert.That(LargeShardFrames.TryParsePutShard(cut, cut.Length), Is.Null);
        // Fields given twice (protobuf merges them) are not the fast path's to decide.
        byte[] twice = [.. frame.ToByteArray(), .. frame.ToByteArray()];
        Assert.That(LargeShardFrames.TryParsePutShard(twice, twice.Length), Is.Null);
        var ping = new Frame { RequestId = 1, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[100_000]) } } };
        var pingBody = ping.ToByteArray();
        Assert.That(LargeShardFrames.TryParsePutShard(pingBody, pingBody.Length), Is.Null);
        var response = ShardFrame(70_000, 1, null, 0).ToByteArray();
        Assert.That(LargeShardFrames.TryParsePutShard(response, response.Length), Is.Null);
    }

    [TestCase(70_000, 1UL, 30_000U, false, true, false)]
    [TestCase(1024 * 1024, 123456789UL, 0U, true, false, false)]
    [TestCase(104_858, 0UL, 5U, false, false, false)]
    [TestCase(65_536, 7UL, 1U, false, false, true)]
    public void The_put_shard_split_writer_produces_exactly_protobufs_bytes(int size, ulong id, uint deadline, bool withCid, bool withDelegation, bool withRecord)
    {
        var frame = PutFrame(size, id, deadline, withCid, withDelegation);
        if (withRecord) frame.Request.PutShard.FileRecord = new ValueRecord { Key = ByteString.CopyFrom(new byte[32]), Value = ByteString.CopyFrom(new byte[900]), Type = 0x5A46 };
        Assert.That(LargeShardFrames.TrySplit(frame, out var head, out var data, out var tail), Is.True);
        Assert.That(data, Is.EqualTo(frame.Request.PutShard.Data.Memory), "the shard is the request's own memory, not a copy");
        byte[] split = [.. head, .. data.Span, .. tail];
        Assert.That(split, Is.EqualTo(Wire(frame)));
    }

    [Test]
    public void Small_put_shard_frames_and_other_requests_are_not_split()
    {
        Assert.That(LargeShardFrames.TrySplit(PutFrame(LargeShardFrames.Threshold - 1, 1, 10, false, true), out _, out _, out _), Is.False);
        var ping = new Frame { RequestId = 1, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[100_000]) } } };
        Assert.That(LargeShardFrames.TrySplit(ping, out _, out _, out _), Is.False);
    }

    /// <summary>A stream that keeps what is written to it and the length of every write.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<int> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }
    }

    [Test]
    public async Task The_frame_writer_sends_protobufs_bytes_and_only_whole_tls_records_before_a_frames_last()
    {
        var delegated = PutFrame(104_858, 1, 30_000, false, true);
        var record = PutFrame(70_000, 2, 30_000, false, false);
        record.Request.PutShard.FileRecord = new ValueRecord { Key = ByteString.CopyFrom(new byte[32]), Value = ByteString.CopyFrom(new byte[900]), Type = 0x5A46 };
        var ping = new Frame { RequestId = 3, Request = new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(new byte[100]) } } };
        var response = ShardFrame(1024 * 1024, 4, new Status { Code = StatusCode.Ok }, 1024 * 1024);
        Frame[] frames = [ping, delegated, record, ping, response, delegated];
        var stream = new RecordingStream();
        var writer = new FrameWriter(stream, RpcOptions.DefaultMaxFrameSize, frames.Length);
        foreach (var frame in frames) await writer.EnqueueAsync(frame, CancellationToken.None);
        writer.Complete();
        await writer.RunAsync(CancellationToken.None);

        Assert.That(stream.ToArray(), Is.EqualTo(frames.SelectMany(Wire).ToArray()));
        // SslStream cuts a write into 16 KiB records: every write but the last of a large frame fills whole records,
        // so no record leaves part-full in the middle of a shard.
        Assert.That(stream.Writes.Count(w => w % (16 * 1024) != 0), Is.LessThanOrEqualTo(frames.Length),
            $"writes: {string.Join(", ", stream.Writes)}");
    }
}
