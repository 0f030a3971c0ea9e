using System.Net;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Calls the server's request dispatch (<see cref="MeshRequestRouter"/> with a real <see cref="DhtNode"/> behind it)
/// directly with mutated and structurally random requests from random callers. A handler may answer with any status or
/// throw what the connection turns into a status (<see cref="MeshStorageException"/>, <see cref="ArgumentException"/>,
/// <see cref="OperationCanceledException"/>); anything else is a crash. Afterwards the node must still answer honest
/// requests correctly and its routing table must stay within its bound.
/// </summary>
internal static class RequestFuzzer
{
    public static async Task<FuzzReport> RunAsync(int seed, long cases, CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport("RPC request handlers");
        var m = new Mutator(seed);
        var self = new PeerContact(NodeId.Random(m.Random), new IPEndPoint(IPAddress.Loopback, 4001));
        var options = new DhtOptions { AllowLoopbackClusters = true, RequestTimeout = TimeSpan.FromMilliseconds(200) };
        var dht = new DhtNode(self, new UnreachableTransport(), options);
        var router = new MeshRequestRouter(self.Id) { Dht = dht };
        var seeds = FuzzCorpus.Requests(m.Random);
        var seedBytes = seeds.Select(r => r.ToByteArray()).ToList();
        for (long i = 0; i < cases && !cancellationToken.IsCancellationRequested; i++)
        {
            Request request;
            byte[] input;
            if (m.Random.Next(2) == 0)
            {
                if (!FuzzCorpus.TryMutatedRequest(m, seedBytes, out input, out request))
                {
                    report.Count("not a request");
                    continue;
                }
            }
            else
            {
                request = Structural(m, seeds[m.Random.Next(seeds.Count)]);
                input = request.ToByteArray();
            }
            var caller = new RpcCallContext(NodeId.Random(m.Random),
                new IPAddress([127, (byte)m.Random.Next(256), (byte)m.Random.Next(256), (byte)m.Random.Next(256)]),
                m.Random.Next(4) == 0 ? m.Random.Next(-5, 70_000) : 4001);
            try
            {
                var response = await router.HandleAsync(request, caller, CancellationToken.None).ConfigureAwait(false);
                _ = response.CalculateSize();
                report.Count("status " + (response.Status?.Code ?? StatusCode.Ok));
            }
            catch (Exception ex) when (ex is MeshStorageException or ArgumentException or OperationCanceledException)
            {
                report.Count(ex.GetType().Name);
            }
            catch (Exception ex)
            {
                report.Crash(ex, input);
            }
        }
        await CheckStillHonestAsync(router, dht, m.Random, report).ConfigureAwait(false);
        return report;
    }

    private static async Task CheckStillHonestAsync(MeshRequestRouter router, DhtNode dht, Random random, FuzzReport report)
    {
        var caller = new RpcCallContext(NodeId.Random(random), IPAddress.Loopback, 5001);
        var record = ValueRecords.CreateImmutable("still honest"u8);
        var stored = await router.HandleAsync(new Request { StoreValue = new StoreValueRequest { Record = record } }, caller, default).ConfigureAwait(false);
        var found = await router.HandleAsync(new Request { FindValue = new FindValueRequest { Key = record.Key } }, caller, default).ConfigureAwait(false);
        var closest = await router.HandleAsync(new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(new byte[32]) } }, caller, default).ConfigureAwait(false);
        if (stored.Status.Code != StatusCode.Ok || !record.Equals(found.FindValue?.Record) || closest.FindNode is null
            || closest.FindNode.CloserPeers.Count > dht.Options.K)
            report.Crash("after fuzzing, the node no longer answers honest requests correctly");
        if (dht.Table.Count > dht.Options.K * NodeId.Bits)
            report.Crash($"the routing table grew past its bound: {dht.Table.Count}");
    }

    // Random field values in the shapes handlers branch on: empty, short, exact and long keys; extreme numbers.
    private static Request Structural(Mutator m, Request seed)
    {
        var r = seed.Clone();
        var rnd = m.Random;
        ByteString Bytes()
        {
            int[] sizes = [0, 1, 16, 31, 32, 33, 64, 65, 300];
            var b = new byte[sizes[rnd.Next(sizes.Length)]];
            rnd.NextBytes(b);
            return ByteString.CopyFrom(b);
        }
        ulong U64() => rnd.Next(4) switch { 0 => 0, 1 => ulong.MaxValue, 2 => (ulong)rnd.NextInt64(), _ => (ulong)rnd.Next(1000) };
        long I64() => rnd.Next(4) switch { 0 => 0, 1 => long.MinValue, 2 => long.MaxValue, _ => rnd.NextInt64() };
        switch (r.KindCase)
        {
            case Request.KindOneofCase.FindNode: r.FindNode.Target = Bytes(); break;
            case Request.KindOneofCase.FindValue: r.FindValue.Key = Bytes(); break;
            case Request.KindOneofCase.StoreValue:
                var rec = r.StoreValue.Record;
                switch (rnd.Next(9))
                {
                    case 0: r.StoreValue.Record = null; break;
                    case 1: rec.Key = Bytes(); break;
                    case 2: rec.Kind = (RecordKind)rnd.Next(-1, 5); break;
                    case 3: rec.PublicKey = Bytes(); break;
                    case 4: rec.Signature = Bytes(); break;
                    case 5: rec.Sequence = U64(); break;
                    case 6: rec.ExpiresUnixMs = I64(); break;
                    case 7: rec.Value = Bytes(); break;
                    default: rec.Name = Bytes(); break;
                }
                break;
            case Request.KindOneofCase.PutShard:
                switch (rnd.Next(4))
                {
                    case 0: r.PutShard.ShardHash = Bytes(); break;
                    case 1: r.PutShard.FileCid = Bytes(); break;
                    case 2 when r.PutShard.Delegation is { } d: d.UploaderNodeId = Bytes(); d.Signature = Bytes(); break;
                    default: if (r.PutShard.Delegation is { } e) { e.NotAfterUnixMs = I64(); e.ExpiresUnixMs = I64(); } break;
                }

                break;
            case Request.KindOneofCase.GetShard:
                r.GetShard.Offset = U64();
                r.GetShard.Length = U64();
                break;
            case Request.KindOneofCase.HasShards:
                for (int i = rnd.Next(50); i > 0; i--) r.HasShards.ShardHashes.Add(Bytes());
                break;
            case Request.KindOneofCase.DeleteShards:
                r.DeleteShards.OwnerPublicKey = Bytes();
                r.DeleteShards.TimestampUnixMs = I64();
                break;
            case Request.KindOneofCase.Ping: r.Ping.Payload = Bytes(); break;
        }
        return r;
    }

    /// <summary>The fuzzed node calls nobody successfully: eviction pings fail at once.</summary>
    private sealed class UnreachableTransport : IMeshTransport
    {
        public ValueTask<Response> CallAsync(PeerContact peer, Request request, TimeSpan timeout, CancellationToken cancellationToken) =>
            ValueTask.FromException<Response>(new TimeoutException("unreachable in the fuzzer"));

        public ValueTask<NodeId> IdentifyAsync(IPEndPoint endPoint, NodeId? expectedId, TimeSpan timeout, CancellationToken cancellationToken) =>
            ValueTask.FromException<NodeId>(new TimeoutException("unreachable in the fuzzer"));
    }
}
