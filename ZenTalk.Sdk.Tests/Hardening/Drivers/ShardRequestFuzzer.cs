using System.Net;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Fuzzes the shard requests (PUT_SHARD, GET_SHARD, HAS_SHARDS, DELETE_SHARDS) through the server's dispatch
/// (<see cref="MeshRequestRouter"/>) into the real <see cref="ShardRequestHandler"/> over a real <see cref="ShardStore"/>
/// on disk, a <see cref="FileIndex"/> that knows one deleted file and <see cref="DeleteAuthorization"/>. Requests are
/// byte-mutated valid ones and structurally random ones (hash lengths, sizes over the cap, extreme offsets and
/// timestamps, authorities of other files, keys and nodes, damaged delegations, foreign and malformed keys,
/// signatures of other keys, replays). Every large GET_SHARD answer also goes
/// through the zero-copy frame writer and parsers (<see cref="LargeShardFrames"/>), checked against protobuf.
/// <para>
/// A case may end in any status or in <see cref="MeshStorageException"/> / <see cref="ArgumentException"/>; anything
/// else is a crash. Oracles per case: an accepted put carried an authority, stored bytes that match their name and
/// never a shard of the deleted file; a whole-shard GET answer matches its hash; an owner-signed delete is accepted at
/// most once per nonce.
/// At the end: the live file's shards are all there and verify (only the owner could delete them, and the fuzzer sends
/// no owner-signed delete for them), every stored shard verifies, no shard of the deleted file is stored, and honest
/// requests are still answered correctly.
/// </para>
/// </summary>
internal static class ShardRequestFuzzer
{
    /// <summary>This node takes shards up to 96 KiB: the corpus has shards on both sides of the cap and of the large-frame threshold.</summary>
    public const int MaxShardSize = 96 * 1024;

    public static async Task<FuzzReport> RunAsync(string directory, int seed, long cases, CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport("Shard request handlers");
        var m = new Mutator(seed);
        using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = Path.Combine(directory, "shards"), QuotaBytes = 64L << 20 }, cancellationToken).ConfigureAwait(false);
        await using var files = new FileIndex(Path.Combine(directory, "files"), store, NullLogger.Instance);
        files.Load();
        var self = new RpcCallContext(NodeId.Random(m.Random), IPAddress.Loopback, 4001);
        using var handler = new ShardRequestHandler(store, files, new DeleteAuthorization(self.RemoteId, TimeSpan.FromMinutes(5)), MaxShardSize, TimeProvider.System)
        {
            AcceptRecord = (record, ct) => files.AcceptAsync(record, ct),
        };
        var router = new MeshRequestRouter(self.RemoteId) { Shards = handler };
        using var owner = OwnerKey.Generate(2048);
        using var attacker = OwnerKey.Generate(2048);
        var ownerKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo);
        var attackerKey = ByteString.CopyFrom(attacker.PublicKey.SubjectPublicKeyInfo);
        // Both keys delegate their puts to the node id `self` calls with; half the cases come from it, half from strangers.
        var future = DateTimeOffset.UtcNow.AddDays(30);
        var ownerDelegation = StoreDelegations.Create(owner, self.RemoteId, future.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddHours(6));
        var attackerDelegation = StoreDelegations.Create(attacker, self.RemoteId, 0, DateTimeOffset.UtcNow.AddHours(6));

        // The live file (kept by the oracle), a file of the owner's the fuzzer may delete, and a deleted file. Their
        // shards go in under the owner's delegation; the live file's manifest is known to the node (so its CID is an authority).
        var live = await EncodeAsync(owner, m.Random, 30_000, future).ConfigureAwait(false);
        var expendable = await EncodeAsync(owner, m.Random, 9_000, future).ConfigureAwait(false);
        var dead = await EncodeAsync(owner, m.Random, 9_000, future).ConfigureAwait(false);
        foreach (var file in new[] { live, expendable, dead })
            foreach (var (hash, data) in file.Shards)
                await handler.PutShardAsync(Put(hash, data, ownerDelegation), self, cancellationToken).ConfigureAwait(false);
        await files.AcceptAsync(FileRecords.ForManifest(live.Manifest), cancellationToken).ConfigureAwait(false);
        await files.AcceptAsync(FileRecords.ForManifest(dead.Manifest), cancellationToken).ConfigureAwait(false);
        await files.AcceptAsync(FileRecords.ForTombstone(dead.Manifest, owner, DateTimeOffset.UtcNow), cancellationToken).ConfigureAwait(false);
        var deadHashes = dead.Shards.Select(s => s.Hash).ToHashSet();
        if (deadHashes.Any(store.Contains)) report.Crash("the tombstone did not drop the deleted file's shards");
        var big = RandomNumberGenerator.GetBytes(LargeShardFrames.Threshold + 16 * 1024);
        var bigHash = Sha256Hash.Compute(big);
        await handler.PutShardAsync(Put(bigHash, big, attackerDelegation), self, cancellationToken).ConfigureAwait(false);

        var liveHashes = live.Shards.Select(s => s.Hash).ToList();
        var known = live.Shards.Concat(expendable.Shards).Concat(dead.Shards).Append((bigHash, big)).ToList();
        var authorities = new Authorities(
            [ownerDelegation, attackerDelegation, StoreDelegations.Create(owner, NodeId.Random(m.Random), 0, DateTimeOffset.UtcNow.AddHours(6))],
            [FileRecords.ForManifest(live.Manifest), FileRecords.ForManifest(expendable.Manifest), FileRecords.ForManifest(dead.Manifest)],
            [FileRecords.KeyOf(live.Manifest.Cid), FileRecords.KeyOf(expendable.Manifest.Cid)]);
        var seeds = Seeds(m.Random, known, live, expendable, dead, owner, attacker, self.RemoteId, ownerDelegation, attackerDelegation, bigHash);
        var seedBytes = seeds.Where(r => r.CalculateSize() < 4096).Select(r => r.ToByteArray()).ToList();
        var ownerNonces = new HashSet<ByteString>();
        for (long i = 0; i < cases && !cancellationToken.IsCancellationRequested; i++)
        {
            Request request;
            byte[] input;
            // One case in three is byte-mutated: most of those no longer parse as a request, and the handlers are the target.
            if (m.Random.Next(3) == 0)
            {
                if (!FuzzCorpus.TryMutatedRequest(m, seedBytes, out input, out request))
                {
                    report.Count("not a request");
                    continue;
                }
            }
            else
            {
                request = Structural(m, seeds[m.Random.Next(seeds.Count)], known, deadHashes, authorities, attacker, self.RemoteId, ownerKey, attackerKey);
                input = request.CalculateSize() < 4096 ? request.ToByteArray() : [];
            }

            var caller = m.Random.Next(2) == 0 ? self
                : new RpcCallContext(NodeId.Random(m.Random), new IPAddress([127, 0, (byte)m.Random.Next(256), (byte)m.Random.Next(1, 255)]), 4001);
            try
            {
                var response = await router.HandleAsync(request, caller, CancellationToken.None).ConfigureAwait(false);
                _ = response.CalculateSize();
                Check(request, response, caller, deadHashes, ownerKey, ownerNonces, report, input, m.Random);
                report.Count(request.KindCase + " " + (response.Status?.Code ?? StatusCode.Ok));
            }
            catch (Exception ex) when (ex is MeshStorageException or ArgumentException)
            {
                report.Count(request.KindCase + " " + ex.GetType().Name);
            }
            catch (Exception ex)
            {
                report.Crash(ex, input);
            }
        }

        await CheckAfterwardsAsync(router, store, self, live, liveHashes, deadHashes, owner, ownerDelegation, report).ConfigureAwait(false);
        return report;
    }

    /// <summary>Authorities the structural cases draw from: delegations (to the fuzzer's node and another), manifest
    /// records of the fuzzer's files, CIDs the node knows.</summary>
    private sealed record Authorities(List<StoreDelegation> Delegations, List<ValueRecord> Records, List<NodeId> Cids);

    private static PutShardRequest Put(Sha256Hash hash, ReadOnlyMemory<byte> data, StoreDelegation? delegation = null, ValueRecord? record = null) => new()
    {
        ShardHash = ByteString.CopyFrom(hash.ToArray()),
        Data = ByteString.CopyFrom(data.Span),
        Delegation = delegation,
        FileRecord = record,
    };

    private static ByteString Bytes(Sha256Hash hash) => ByteString.CopyFrom(hash.ToArray());

    private static List<Request> Seeds(Random random, List<(Sha256Hash Hash, byte[] Data)> known, Encoded live, Encoded expendable, Encoded dead,
        OwnerKey owner, OwnerKey attacker, NodeId self, StoreDelegation ownerDelegation, StoreDelegation attackerDelegation, Sha256Hash bigHash)
    {
        var fresh = new byte[200];
        random.NextBytes(fresh);
        var freshHash = Sha256Hash.Compute(fresh);
        var (liveHash, liveData) = live.Shards[0];
        var (deadHash, deadData) = dead.Shards[0];
        var has = new HasShardsRequest();
        foreach (var (h, _) in known.Take(20)) has.ShardHashes.Add(Bytes(h));
        return
        [
            new Request { PutShard = Put(liveHash, liveData, ownerDelegation) },
            new Request { PutShard = Put(freshHash, fresh, attackerDelegation) },
            new Request { PutShard = Put(deadHash, deadData, ownerDelegation) },
            new Request { PutShard = Put(expendable.Shards[1].Hash, expendable.Shards[1].Data, record: FileRecords.ForManifest(expendable.Manifest)) },
            new Request { PutShard = new PutShardRequest { ShardHash = Bytes(liveHash), Data = ByteString.CopyFrom(liveData), FileCid = ByteString.CopyFrom(FileRecords.KeyOf(live.Manifest.Cid).ToByteArray()) } },
            new Request { PutShard = Put(freshHash, fresh) },
            new Request { GetShard = new GetShardRequest { ShardHash = Bytes(liveHash) } },
            new Request { GetShard = new GetShardRequest { ShardHash = Bytes(bigHash), Offset = 100, Length = LargeShardFrames.Threshold } },
            new Request { GetShard = new GetShardRequest { ShardHash = Bytes(bigHash) } },
            new Request { GetShard = new GetShardRequest { ShardHash = Bytes(deadHash) } },
            new Request { HasShards = has },
            // Valid signatures that must not delete the owner's shards: another key's, and the owner's over the expendable file only.
            new Request { DeleteShards = DeleteAuthorization.Create(attacker, self, live.Shards.Select(s => s.Hash), DateTimeOffset.UtcNow) },
            new Request { DeleteShards = DeleteAuthorization.Create(owner, self, expendable.Shards.Select(s => s.Hash), DateTimeOffset.UtcNow) },
            new Request { DeleteShards = DeleteAuthorization.Create(owner, self, expendable.Shards.Take(3).Select(s => s.Hash), DateTimeOffset.UtcNow) },
            // The owner's delete of its live shards, signed for another node: must delete nothing here.
            new Request { DeleteShards = DeleteAuthorization.Create(owner, NodeId.Random(random), live.Shards.Select(s => s.Hash), DateTimeOffset.UtcNow) },
            new Request { NodeInfo = new NodeInfoRequest() },
        ];
    }

    // Field values in the shapes the handlers branch on.
    private static Request Structural(Mutator m, Request seed, List<(Sha256Hash Hash, byte[] Data)> known, HashSet<Sha256Hash> deadHashes,
        Authorities authorities, OwnerKey attacker, NodeId self, ByteString ownerKey, ByteString attackerKey)
    {
        var r = seed.Clone();
        var rnd = m.Random;
        ByteString Hash()
        {
            if (rnd.Next(3) == 0) return Bytes(known[rnd.Next(known.Count)].Hash);
            int[] sizes = [0, 1, 31, 32, 32, 33, 64];
            var b = new byte[sizes[rnd.Next(sizes.Length)]];
            rnd.NextBytes(b);
            return ByteString.CopyFrom(b);
        }
        ByteString Key() => rnd.Next(5) switch
        {
            0 => ByteString.Empty,
            1 => ownerKey,
            2 => attackerKey,
            3 => ByteString.CopyFrom(m.Mutate(ownerKey.Span)),
            _ => ByteString.CopyFrom(m.RandomBytes(300)),
        };
        ulong U64() => rnd.Next(5) switch { 0 => 0, 1 => ulong.MaxValue, 2 => (ulong)rnd.NextInt64(), 3 => (ulong)int.MaxValue + 1, _ => (ulong)rnd.Next(100_000) };
        long I64() => rnd.Next(6) switch
        {
            0 => 0,
            1 => long.MinValue,
            2 => long.MaxValue,
            3 => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + rnd.Next(-600_000, 600_000),
            4 => -1,
            _ => rnd.NextInt64(),
        };
        switch (r.KindCase)
        {
            case Request.KindOneofCase.PutShard:
                var put = r.PutShard;
                switch (rnd.Next(8))
                {
                    case 0:
                        put.ShardHash = Hash();
                        break;
                    case 1:
                        // Data that does not match its name, or the right name over data one byte off.
                        var data = put.Data.ToByteArray();
                        if (data.Length > 0) data[rnd.Next(data.Length)] ^= 1;
                        put.Data = ByteString.CopyFrom(data);
                        break;
                    case 2:
                        // Sizes around the node's cap; matching hashes only rarely (each such put is a real write with fsync).
                        var size = rnd.Next(3) switch { 0 => MaxShardSize, 1 => MaxShardSize + 1, _ => rnd.Next(0, 2048) };
                        var body = new byte[size];
                        rnd.NextBytes(body);
                        put.Data = ByteString.CopyFrom(body);
                        bool storable = size > MaxShardSize || rnd.Next(size == MaxShardSize ? 500 : 50) == 0;
                        put.ShardHash = storable ? Bytes(Sha256Hash.Compute(body)) : Hash();
                        break;
                    case 3:
                        // A damaged delegation: any field of it.
                        var dg = (put.Delegation ?? authorities.Delegations[rnd.Next(authorities.Delegations.Count)]).Clone();
                        switch (rnd.Next(5))
                        {
                            case 0: dg.UploaderNodeId = rnd.Next(2) == 0 ? Hash() : ByteString.CopyFrom(NodeId.Random(rnd).ToByteArray()); break;
                            case 1: dg.ExpiresUnixMs = I64(); break;
                            case 2: dg.NotAfterUnixMs = I64(); break;
                            case 3: dg.OwnerPublicKey = Key(); break;
                            default: dg.Signature = ByteString.CopyFrom(m.Mutate(dg.Signature.Span)); break;
                        }

                        put.Delegation = dg;
                        break;
                    case 4:
                        Authorize(put);
                        break;
                    case 5:
                        // A shard of the deleted file, under any authority: must be refused.
                        var d = known.First(k => deadHashes.Contains(k.Hash));
                        put.ShardHash = Bytes(d.Hash);
                        put.Data = ByteString.CopyFrom(d.Data);
                        Authorize(put);
                        break;
                    default:
                        var k = known[rnd.Next(known.Count)];
                        put.ShardHash = Bytes(k.Hash);
                        put.Data = ByteString.CopyFrom(k.Data);
                        Authorize(put);
                        break;
                }

                break;
            case Request.KindOneofCase.GetShard:
                r.GetShard.ShardHash = rnd.Next(4) == 0 ? Hash() : Bytes(known[rnd.Next(known.Count)].Hash);
                r.GetShard.Offset = U64();
                r.GetShard.Length = U64();
                break;
            case Request.KindOneofCase.HasShards:
                r.HasShards.ShardHashes.Clear();
                for (int i = rnd.Next(4) == 0 ? rnd.Next(2000) : rnd.Next(40); i > 0; i--) r.HasShards.ShardHashes.Add(Hash());
                break;
            case Request.KindOneofCase.DeleteShards:
                var del = r.DeleteShards;
                switch (rnd.Next(7))
                {
                    case 0:
                        del.ShardHashes.Add(Hash());
                        break;
                    case 1:
                        del.Nonce = ByteString.CopyFrom(m.RandomBytes(20));
                        break;
                    case 2:
                        del.TimestampUnixMs = I64();
                        break;
                    case 3:
                        del.OwnerPublicKey = Key();
                        break;
                    case 4:
                        del.Signature = rnd.Next(2) == 0 ? ByteString.CopyFrom(m.RandomBytes(256)) : ByteString.Empty;
                        break;
                    case 5:
                        // A fresh, valid signature by the attacker over the owner's live shards (deletes nothing), rarely: RSA signing is slow.
                        if (rnd.Next(20) == 0)
                            r.DeleteShards = DeleteAuthorization.Create(attacker, self, known.Take(10).Select(x => x.Hash), DateTimeOffset.UtcNow);
                        break;
                    default:
                        // The owner's key named, the attacker's signature: an impersonation; or another holder named.
                        if (rnd.Next(2) == 0) del.OwnerPublicKey = ownerKey;
                        else del.NodeId = rnd.Next(2) == 0 ? ByteString.CopyFrom(NodeId.Random(rnd).ToByteArray()) : ByteString.CopyFrom(m.RandomBytes(rnd.Next(40)));
                        break;
                }

                break;
        }

        return r;

        // One authority of any kind, often not one for this shard or this sender: a delegation (the owner's or the
        // attacker's to the fuzzer's node, or one to another node), a file's manifest, a CID the node does or does not
        // know, none, or two at once.
        void Authorize(PutShardRequest put)
        {
            put.Delegation = null;
            put.FileRecord = null;
            put.FileCid = ByteString.Empty;
            switch (rnd.Next(5))
            {
                case 0: put.Delegation = authorities.Delegations[rnd.Next(authorities.Delegations.Count)]; break;
                case 1: put.FileRecord = authorities.Records[rnd.Next(authorities.Records.Count)]; break;
                case 2: put.FileCid = rnd.Next(3) == 0 ? Hash() : ByteString.CopyFrom(authorities.Cids[rnd.Next(authorities.Cids.Count)].ToByteArray()); break;
                case 3:
                    put.Delegation = authorities.Delegations[rnd.Next(authorities.Delegations.Count)];
                    put.FileRecord = authorities.Records[rnd.Next(authorities.Records.Count)];
                    break;
                default: break;
            }
        }
    }

    private static void Check(Request request, Response response, RpcCallContext caller, HashSet<Sha256Hash> deadHashes, ByteString ownerKey, HashSet<ByteString> ownerNonces,
        FuzzReport report, byte[] input, Random random)
    {
        if (response.Status is { Code: not StatusCode.Ok }) return;
        switch (request.KindCase)
        {
            case Request.KindOneofCase.PutShard:
                var put = request.PutShard;
                if (put is { Delegation: null, FileRecord: null, FileCid.IsEmpty: true })
                    report.Crash(new InvalidOperationException("PUT_SHARD accepted a shard without any owner authority"), input);
                else if (put.Delegation is { } delegation && !delegation.UploaderNodeId.Span.SequenceEqual(caller.RemoteId.ToByteArray()))
                    report.Crash(new InvalidOperationException("PUT_SHARD accepted a delegation to another node than its sender"), input);
                else if (put.ShardHash.Length != Sha256Hash.Size || !new Sha256Hash(put.ShardHash.Span).Matches(put.Data.Span))
                    report.Crash(new InvalidOperationException("PUT_SHARD accepted bytes that do not match their name"), input);
                else if (deadHashes.Contains(new Sha256Hash(put.ShardHash.Span)))
                    report.Crash(new InvalidOperationException("PUT_SHARD accepted a shard of a deleted file"), input);
                else if (put.Data.Length > MaxShardSize)
                    report.Crash(new InvalidOperationException("PUT_SHARD accepted a shard over the node's size cap"), input);
                break;
            case Request.KindOneofCase.GetShard:
                var get = request.GetShard;
                var shard = response.GetShard;
                if (get.Offset == 0 && get.Length == 0 && !new Sha256Hash(get.ShardHash.Span).Matches(shard.Data.Span))
                    report.Crash(new InvalidOperationException("GET_SHARD served bytes that do not match the hash asked for"), input);
                if ((ulong)shard.Data.Length > shard.TotalSize)
                    report.Crash(new InvalidOperationException("GET_SHARD served more bytes than the shard has"), input);
                if (shard.Data.Length >= LargeShardFrames.Threshold) CheckLargeFrame(response, random, report);
                break;
            case Request.KindOneofCase.HasShards:
                if (response.HasShards.Present.Count != request.HasShards.ShardHashes.Count)
                    report.Crash(new InvalidOperationException("HAS_SHARDS answered a different number of hashes than asked"), input);
                break;
            case Request.KindOneofCase.DeleteShards:
                if (request.DeleteShards.OwnerPublicKey.Equals(ownerKey) && !ownerNonces.Add(request.DeleteShards.Nonce))
                    report.Crash(new InvalidOperationException("an owner-signed DELETE_SHARDS was accepted twice (replay)"), input);
                break;
        }
    }

    /// <summary>
    /// The server sends a large GET_SHARD answer through <see cref="LargeShardFrames.TrySplit"/> and the client reads
    /// it with <see cref="LargeShardFrames.TryParse"/> or <see cref="LargeShardFrames.TryParseHead"/> +
    /// <see cref="LargeShardFrames.ParseTail"/>: all must agree with protobuf's bytes; damaged envelopes may only be
    /// refused (false/null) or fail with <see cref="ProtocolException"/>.
    /// </summary>
    private static void CheckLargeFrame(Response response, Random random, FuzzReport report)
    {
        var frame = new Frame { RequestId = random.Next(3) == 0 ? (ulong)random.NextInt64() : (ulong)random.Next(1, 300), Response = response.Clone() };
        frame.Response.Status ??= new Status { Code = StatusCode.Ok };
        if (random.Next(4) == 0) frame.Response.Status.Message = new string('x', random.Next(200));
        var body = frame.ToByteArray();
        if (!LargeShardFrames.TrySplit(frame, out var head, out var data, out var tail))
        {
            report.Crash("LargeShardFrames.TrySplit refused a plain GET_SHARD answer");
            return;
        }

        var wire = FuzzCorpus.Wire(frame);
        byte[] split = [.. head, .. data.Span, .. tail];
        if (!split.AsSpan().SequenceEqual(wire))
        {
            report.Crash("LargeShardFrames.TrySplit wrote different bytes than protobuf");
            return;
        }

        if (LargeShardFrames.TryParse((byte[])body.Clone(), body.Length) is not { } fast || !fast.Equals(frame))
            report.Crash("LargeShardFrames.TryParse did not read back the frame TrySplit wrote");
        int prefix = wire.Length - body.Length;
        if (!LargeShardFrames.TryParseHead(body.AsSpan(0, Math.Min(body.Length, head.Length - prefix + 16)), body.Length, out var h)
            || h.RequestId != frame.RequestId || h.DataLength != data.Length
            || !body.AsSpan(h.DataOffset, h.DataLength).SequenceEqual(data.Span)
            || LargeShardFrames.ParseTail(body.AsSpan(h.DataOffset + h.DataLength)) != frame.Response.GetShard.TotalSize)
            report.Crash("LargeShardFrames.TryParseHead/ParseTail did not read back the frame TrySplit wrote");

        // Damage the envelope and the tail: refusals and ProtocolException only, and an accepted frame must be protobuf's.
        var bad = (byte[])body.Clone();
        int headLen = head.Length - prefix;
        bad[random.Next(Math.Max(1, headLen))] ^= (byte)(1 << random.Next(8));
        if (tail.Length > 0 && random.Next(2) == 0) bad[^(1 + random.Next(tail.Length))] = (byte)random.Next(256);
        int length = random.Next(4) == 0 ? random.Next(bad.Length) : bad.Length;
        try
        {
            // The reader's own parser, which drops unknown fields (a flipped tag inside the status makes one).
            if (LargeShardFrames.TryParse(bad, length) is { } parsed && !parsed.Equals(FrameReader.FrameParser.ParseFrom(bad.AsSpan(0, length))))
                report.Crash("LargeShardFrames.TryParse reads a damaged frame differently from protobuf: " +
                    $"{length} of {bad.Length} bytes, {Convert.ToHexString(bad.AsSpan(0, Math.Min(length, 96)))}; original {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 96)))}");
        }
        catch (InvalidProtocolBufferException)
        {
            report.Crash("LargeShardFrames.TryParse accepted a damaged frame protobuf refuses");
        }
        catch (Exception ex)
        {
            report.Crash(ex, bad.AsSpan(0, Math.Min(64, bad.Length)));
        }

        try
        {
            if (LargeShardFrames.TryParseHead(bad.AsSpan(0, Math.Min(length, headLen + 16)), length, out var dh)
                && (dh.DataOffset < 0 || dh.DataLength < 0 || dh.DataOffset + (long)dh.DataLength > length))
                report.Crash("LargeShardFrames.TryParseHead accepted a head whose data runs past the frame");
            if (dh.DataOffset > 0 && dh.DataOffset + (long)dh.DataLength <= length)
                _ = LargeShardFrames.ParseTail(bad.AsSpan(dh.DataOffset + dh.DataLength, length - dh.DataOffset - dh.DataLength));
        }
        catch (ProtocolException)
        {
            // The documented refusal of a malformed tail.
        }
        catch (Exception ex)
        {
            report.Crash(ex, bad.AsSpan(0, Math.Min(64, bad.Length)));
        }
    }

    private static async Task CheckAfterwardsAsync(MeshRequestRouter router, ShardStore store, RpcCallContext caller, Encoded live,
        List<Sha256Hash> liveHashes, HashSet<Sha256Hash> deadHashes, OwnerKey owner, StoreDelegation ownerDelegation, FuzzReport report)
    {
        var ownerId = Sha256Hash.Compute(owner.PublicKey.SubjectPublicKeyInfo);
        foreach (var info in store.List())
        {
            if (deadHashes.Contains(info.Hash)) report.Crash($"shard {info.Hash} of the deleted file is stored");
            if (info.Holds.Any(h => h.Owner.IsZero)) report.Crash($"shard {info.Hash} has a hold with no owner: it was kept without authority");
            if (await store.GetAsync(info.Hash).ConfigureAwait(false) is not { } bytes || !info.Hash.Matches(bytes))
                report.Crash($"stored shard {info.Hash} does not read back or does not match its name");
        }

        foreach (var (hash, data) in live.Shards)
            if (await store.GetAsync(hash).ConfigureAwait(false) is not { } bytes || !bytes.AsSpan().SequenceEqual(data))
                report.Crash($"live shard {hash} was lost or changed; only its owner may delete it");

        var fresh = RandomNumberGenerator.GetBytes(1000);
        var freshHash = Sha256Hash.Compute(fresh);
        var put = await router.HandleAsync(new Request { PutShard = Put(freshHash, fresh, ownerDelegation) }, caller, default).ConfigureAwait(false);
        var get = await router.HandleAsync(new Request { GetShard = new GetShardRequest { ShardHash = Bytes(freshHash) } }, caller, default).ConfigureAwait(false);
        var has = await router.HandleAsync(new Request { HasShards = new HasShardsRequest { ShardHashes = { Bytes(freshHash), Bytes(deadHashes.First()) } } }, caller, default).ConfigureAwait(false);
        var delete = await router.HandleAsync(new Request { DeleteShards = DeleteAuthorization.Create(owner, caller.RemoteId, liveHashes, DateTimeOffset.UtcNow) }, caller, default).ConfigureAwait(false);
        // The owner's delete drops the owner's holds; a live shard the attacker also holds (under its own delegation) stays for it.
        if (put.PutShard is null || get.GetShard is null || !get.GetShard.Data.Span.SequenceEqual(fresh)
            || has.HasShards is not { } h || !h.Present.SequenceEqual([true, false])
            || delete.DeleteShards?.Deleted != (uint)liveHashes.Count || liveHashes.Any(x => store.GetInfo(x)?.HoldOf(ownerId) is not null))
            report.Crash("after fuzzing, the handlers no longer answer honest requests correctly");
    }

    private sealed record Encoded(Manifest Manifest, List<(Sha256Hash Hash, byte[] Data)> Shards);

    private static async Task<Encoded> EncodeAsync(OwnerKey owner, Random random, int size, DateTimeOffset expires)
    {
        var plain = new byte[size];
        random.NextBytes(plain);
        var sink = new CollectingSink();
        var encoder = new FileEncoder(new FileCodecOptions { SegmentSize = Manifest.MinSegmentSize * 2, ExpiresAt = expires });
        var manifest = await encoder.EncodeAsync(new MemoryStream(plain), ContentKey.Generate(), owner, sink).ConfigureAwait(false);
        return new Encoded(manifest, sink.Shards);
    }

    private sealed class CollectingSink : IShardSink
    {
        public List<(Sha256Hash Hash, byte[] Data)> Shards { get; } = [];

        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            for (int j = 0; j < segment.Shards.Length; j++) Shards.Add((segment.Hashes[j], segment.Shards[j].ToArray()));
            return ValueTask.CompletedTask;
        }
    }
}
