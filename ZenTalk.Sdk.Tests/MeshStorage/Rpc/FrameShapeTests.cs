using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class FrameShapeTests
{
    private static Frame HasShards(ulong id, int entries, int size = 32)
    {
        var request = new HasShardsRequest();
        for (int i = 0; i < entries; i++) request.ShardHashes.Add(ByteString.CopyFrom(new byte[size]));
        return new Frame { RequestId = id, Request = new Request { HasShards = request } };
    }

    [Test]
    public void A_request_at_the_cap_passes_and_one_entry_more_is_refused_with_its_request_id()
    {
        var ok = FrameShape.Check(HasShards(7, FrameShape.MaxRepeatedEntries).ToByteArray());
        Assert.That(ok.Refusal, Is.Null);
        Assert.That(ok.RequestId, Is.EqualTo(7));
        Assert.That(ok.IsRequest, Is.True);

        var over = FrameShape.Check(HasShards(8, FrameShape.MaxRepeatedEntries + 1).ToByteArray());
        Assert.That(over.Refusal, Does.Contain("zentalk.mesh.v1.HasShardsRequest.shard_hashes").And.Contain("1024"));
        Assert.That(over.RequestId, Is.EqualTo(8));
        Assert.That(over.IsRequest, Is.True);
    }

    [Test]
    public void Two_million_empty_entries_are_refused_without_building_them()
    {
        // 4 MiB of "0A 00": protobuf would build a two-million-entry list before any handler could look at it.
        var body = new List<byte>();
        var inner = new byte[2 * 2_000_000];
        for (int i = 0; i < inner.Length; i += 2) inner[i] = 0x0A;
        byte[] hasShards = [0x3A, .. Varint(inner.Length), .. inner];   // Request.has_shards (field 7)
        body.AddRange([0x08, 0x05, 0x22]);                              // request_id 5, Frame.request (field 4)
        body.AddRange(Varint(hasShards.Length));
        body.AddRange(hasShards);
        var bytes = body.ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var result = FrameShape.Check(bytes);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(result.Refusal, Is.Not.Null);
        Assert.That(result.RequestId, Is.EqualTo(5));
        Assert.That(allocated, Is.LessThan(4096), "the check allocates nothing per entry");
    }

    [Test]
    public void Entries_sent_in_several_merged_pieces_count_together()
    {
        // Protobuf merges a message field given twice, so two halves of 600 entries make one list of 1,200.
        var half = HasShards(3, 600).ToByteArray();
        byte[] twice = [.. half, .. half];
        Assert.That(FrameShape.Check(half).Refusal, Is.Null);
        Assert.That(FrameShape.Check(twice).Refusal, Is.Not.Null);
        Assert.That(Frame.Parser.ParseFrom(twice).Request.HasShards.ShardHashes, Has.Count.EqualTo(1200), "what the check protects against");
    }

    [Test]
    public void Packed_entries_count_one_by_one_and_answers_are_capped_too()
    {
        var answer = new HasShardsResponse();
        for (int i = 0; i < FrameShape.MaxRepeatedEntries + 1; i++) answer.Present.Add(i % 2 == 0);
        var frame = new Frame { RequestId = 2, Response = new Response { Status = new Status(), HasShards = answer } };
        var result = FrameShape.Check(frame.ToByteArray());
        Assert.That(result.Refusal, Does.Contain("present"));
        Assert.That(result.IsRequest, Is.False);

        var peers = new FindNodeResponse();
        for (int i = 0; i < FrameShape.MaxRepeatedEntries + 1; i++) peers.CloserPeers.Add(new PeerInfo { Port = 1 });
        Assert.That(FrameShape.Check(new Frame { RequestId = 2, Response = new Response { FindNode = peers } }.ToByteArray()).Refusal,
            Does.Contain("closer_peers"));
    }

    [Test]
    public void Unknown_fields_are_skipped_without_counting_and_groups_or_truncation_are_protocol_errors()
    {
        var frame = HasShards(4, 10);
        byte[] withUnknown = [.. frame.ToByteArray(), 0xFA, 0x06, 0x03, 1, 2, 3]; // field 111, 3 bytes
        Assert.That(FrameShape.Check(withUnknown).Refusal, Is.Null);
        Assert.Throws<ProtocolException>(() => FrameShape.Check([0x0B, 0x0C]));      // a group
        Assert.Throws<ProtocolException>(() => FrameShape.Check([0x22, 0x10, 0x3A])); // a field past the end
    }

    private static byte[] Varint(int value)
    {
        var b = new byte[5];
        int n = FrameWriter.WriteVarint((uint)value, b);
        return b[..n];
    }
}
