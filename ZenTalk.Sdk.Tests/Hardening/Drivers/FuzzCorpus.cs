using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>Valid requests and frames of every kind: the seeds the mutators start from.</summary>
internal static class FuzzCorpus
{
    public static List<Request> Requests(Random random)
    {
        byte[] R(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        var shard = R(300);
        var hash = System.Security.Cryptography.SHA256.HashData(shard);
        var record = ValueRecords.CreateImmutable(R(64));
        using var ec = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var signed = ValueRecords.CreateSigned(ec, "profile"u8, R(40), 3, type: 2);
        // The shape of a store delegation (its signature is random bytes: the fuzzers reach past the parser with it).
        var delegation = new StoreDelegation
        {
            OwnerPublicKey = ByteString.CopyFrom(R(294)), UploaderNodeId = ByteString.CopyFrom(R(32)),
            ExpiresUnixMs = 1_900_000_000_000, NotAfterUnixMs = 1_800_000_000_000, Signature = ByteString.CopyFrom(R(256)),
        };
        return
        [
            new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom(R(8)) } },
            new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(R(32)) } },
            new Request { FindValue = new FindValueRequest { Key = record.Key } },
            new Request { StoreValue = new StoreValueRequest { Record = record } },
            new Request { StoreValue = new StoreValueRequest { Record = signed } },
            new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = ByteString.CopyFrom(shard), FileCid = ByteString.CopyFrom(R(32)) } },
            new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = ByteString.CopyFrom(shard), Delegation = delegation } },
            new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(hash), Offset = 10, Length = 100 } },
            new Request { HasShards = new HasShardsRequest { ShardHashes = { ByteString.CopyFrom(hash), ByteString.CopyFrom(R(32)) } } },
            new Request { DeleteShards = new DeleteShardsRequest { ShardHashes = { ByteString.CopyFrom(hash) }, OwnerPublicKey = signed.PublicKey, TimestampUnixMs = 1_800_000_000_000, NodeId = ByteString.CopyFrom(R(32)) } },
            new Request { NodeInfo = new NodeInfoRequest() },
        ];
    }

    /// <summary>
    /// Splices and mutates two of <paramref name="seedBytes"/> into <paramref name="input"/>; false when those bytes no
    /// longer parse as a request (most do not).
    /// </summary>
    public static bool TryMutatedRequest(Mutator m, List<byte[]> seedBytes, out byte[] input, out Request request)
    {
        input = m.Mutate(seedBytes[m.Random.Next(seedBytes.Count)], seedBytes[m.Random.Next(seedBytes.Count)]);
        try
        {
            request = Request.Parser.ParseFrom(input);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            request = null!;
            return false;
        }
    }

    public static List<Frame> Frames(Random random)
    {
        var frames = new List<Frame>();
        ulong id = 1;
        foreach (var r in Requests(random))
            frames.Add(new Frame { RequestId = id++, DeadlineMs = 5000, Request = r });
        frames.Add(new Frame { RequestId = 3, Cancel = new Cancel() });
        frames.Add(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 4001) });
        frames.Add(new Frame { RequestId = 4, Response = new Response { Status = new Status { Code = StatusCode.Ok }, Ping = new PingResponse() } });
        var closer = new FindNodeResponse();
        for (int i = 0; i < 5; i++)
        {
            var b = new byte[32];
            random.NextBytes(b);
            closer.CloserPeers.Add(new PeerInfo { NodeId = ByteString.CopyFrom(b), Address = ByteString.CopyFrom([127, 0, 0, (byte)(i + 1)]), Port = 4001 });
        }
        frames.Add(new Frame { RequestId = 5, Response = new Response { Status = new Status { Code = StatusCode.Ok }, FindNode = closer } });
        frames.Add(new Frame { RequestId = 6, Response = new Response { Status = new Status { Code = StatusCode.NotFound, Message = "no" } } });
        return frames;
    }

    /// <summary>The wire bytes of a frame: varint length prefix + body.</summary>
    public static byte[] Wire(Frame frame)
    {
        var body = frame.ToByteArray();
        var prefix = new byte[5];
        int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
        var wire = new byte[n + body.Length];
        prefix.AsSpan(0, n).CopyTo(wire);
        body.CopyTo(wire, n);
        return wire;
    }
}
