using Google.Protobuf;
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

    [Test]
    public void A_corrupt_large_frame_is_left_to_protobuf()
    {
        var body = ShardFrame(70_000, 1, null, 0).ToByteArray();
        Array.Resize(ref body, body.Length - 100);
        Assert.That(LargeShardFrames.TryParse(body, body.Length), Is.Null);
    }
}
