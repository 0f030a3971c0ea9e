using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Inputs the fuzzers found that once escaped as the wrong exception type; each must now be a clean protocol error.</summary>
public class FuzzRegressionTests
{
    // Found by FrameFuzzer (seed 8001): a large GET_SHARD answer read into the caller's buffer whose bytes after the
    // shard end inside a varint, or announce a field longer than what is left, escaped from the zero-copy tail parser
    // as IndexOutOfRangeException / ArgumentOutOfRangeException instead of ProtocolException.
    [TestCase((byte)0x80, TestName = "A_large_get_shard_answer_ending_inside_a_varint_is_a_protocol_error")]
    [TestCase((byte)0x7F, TestName = "A_large_get_shard_answer_whose_last_field_runs_past_the_frame_is_a_protocol_error")]
    public void A_malformed_tail_after_a_large_shard_is_a_protocol_error(byte last)
    {
        var shard = new byte[LargeShardFrames.Threshold + 100];
        var body = new Frame
        {
            RequestId = 7,
            Response = new Response { Status = new Status { Code = StatusCode.Ok }, GetShard = new GetShardResponse { Data = ByteString.CopyFrom(shard), TotalSize = 5 } },
        }.ToByteArray();
        var prefix = new byte[5];
        int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
        byte[] wire = [.. prefix.AsSpan(0, n), .. body];
        Assert.That(wire[^2..], Is.EqualTo(new byte[] { 0x10, 0x05 }), "the frame ends with total_size = 5");
        if (last == 0x7F)
        {
            wire[^2] = 0x0A; // a length-delimited field of 127 bytes, with none left
            wire[^1] = 0x7F;
        }
        else wire[^1] = last;
        using var reader = new FrameReader(new MemoryStream(wire), 1 << 20);
        Memory<byte> destination = new byte[shard.Length];
        Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(_ => destination, CancellationToken.None));
    }
}
