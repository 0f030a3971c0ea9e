using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>How <see cref="OutsideFlood"/> runs.</summary>
internal sealed record OutsideFloodOptions
{
    /// <summary>The testnet program (ZenTalk.Testnet.dll) whose <c>node</c> mode hosts each storage node.</summary>
    public required string NodeHost { get; init; }

    /// <summary>Where the nodes' data directories go (one each; removed by the caller).</summary>
    public required string Directory { get; init; }

    public int Nodes { get; init; } = 12;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections pipelining 1 MiB PUT_SHARDs that no owner authorized.</summary>
    public int ShardFlooders { get; init; } = 3;

    /// <summary>Connections pipelining STORE_VALUEs of junk records.</summary>
    public int RecordFlooders { get; init; } = 3;
}

/// <summary>What an <see cref="OutsideFlood"/> run did and what the victim and the honest user saw.</summary>
internal sealed record OutsideFloodReport(
    int Nodes, TimeSpan Duration, long RssBefore, long RssMaxSampled, long PeakRss, long ShardsSent, long ShardBytesSent,
    long ShardsAccepted, long ShardBytesAccepted, long RecordsSent, long RecordBytesSent, long Connections,
    long VictimBytesBefore, long VictimBytesAfter, IReadOnlyList<string> Honest, int HonestMismatches, int HonestFailures)
{
    /// <summary>How far the victim's resident set grew above its level before the flood (its peak, VmHWM, counts).</summary>
    public long RssGrowth => Math.Max(PeakRss, RssMaxSampled) - RssBefore;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Nodes} node processes; {Duration.TotalSeconds:0} s of flood at one node from one hostile identity ({Connections} TLS connections): "
        + $"{RecordsSent} STORE_VALUE ({RecordBytesSent >> 20} MiB of records), {ShardsSent} unauthorized PUT_SHARD ({ShardBytesSent >> 20} MiB); "
        + $"victim RSS {RssBefore >> 20} MiB before, max sampled {RssMaxSampled >> 20} MiB, peak (VmHWM) {PeakRss >> 20} MiB: growth {RssGrowth >> 20} MiB; "
        + $"unauthorized shards it holds afterwards: {ShardsAccepted} ({ShardBytesAccepted} bytes); stored bytes {VictimBytesBefore} before, {VictimBytesAfter} after; "
        + $"honest: {string.Join("; ", Honest)}; {HonestMismatches} mismatches, {HonestFailures} failures");
}

/// <summary>
/// The out-of-process run of issue 16: a mesh of storage node processes on loopback (<see cref="MeshProcess"/>, each on
/// its own 127.0.0.x address, OS-chosen port and data directory), and a hostile program with a TLS node identity of its
/// own that speaks the wire protocol itself (TLS 1.3, Hello, length-prefixed frames; docs/protocol.md) and floods one
/// victim for the run's duration: STORE_VALUEs of junk records (unsigned records under any key, signed records under keys
/// of its own, file-record-typed junk) and 1 MiB PUT_SHARDs that no owner authorized (no authority; the honest owner's
/// delegation to the honest device, replayed; a delegation of its own key to another node; a CID the victim does not
/// hold; a forged manifest record). Every connection pipelines its frames and drains the answers. Meanwhile an honest
/// device, which knows only the victim, stores two files through it and reads them back; after the flood a second
/// device, again through the victim alone, reads them too. The victim's RSS is sampled from <c>/proc</c> every 200 ms;
/// which of the hostile shards it kept is asked with HAS_SHARDS afterwards. Everything stops by itself.
/// </summary>
internal static class OutsideFlood
{
    private const int ShardSize = 1 << 20;
    private static readonly TimeSpan HonestBudget = TimeSpan.FromSeconds(180);

    public static async Task<OutsideFloodReport> RunAsync(OutsideFloodOptions options, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var nodes = new List<MeshProcess>();
        try
        {
            // Node 0 first (everyone's bootstrap), the rest side by side; 127.0.0.11 and up.
            nodes.Add(await MeshProcess.StartAsync(options.NodeHost, "127.0.0.11", Data(options, 0), [], cancellationToken).ConfigureAwait(false));
            var rest = Enumerable.Range(1, options.Nodes - 1)
                .Select(i => MeshProcess.StartAsync(options.NodeHost, $"127.0.0.{11 + i}", Data(options, i), [nodes[0].Bootstrap], cancellationToken));
            nodes.AddRange(await Task.WhenAll(rest).ConfigureAwait(false));
            var victim = nodes[options.Nodes / 2];
            log($"{nodes.Count} node processes up; victim {victim.Bootstrap} (pid {victim.ProcessId})");
            await WarmAsync(nodes, cancellationToken).ConfigureAwait(false);
            return await FloodAsync(options, victim, log, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask())).ConfigureAwait(false);
        }
    }

    private static string Data(OutsideFloodOptions options, int i) => System.IO.Directory.CreateDirectory(Path.Combine(options.Directory, "n" + i)).FullName;

    /// <summary>Waits (at most 60 s) until every node's routing table holds most of the mesh.</summary>
    private static async Task WarmAsync(List<MeshProcess> nodes, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var tables = await Task.WhenAll(nodes.Select(n => n.NetworkAsync(cancellationToken))).ConfigureAwait(false);
            if (tables.All(t => t.Table >= nodes.Count - 3)) return;
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<OutsideFloodReport> FloodAsync(OutsideFloodOptions options, MeshProcess victim, Action<string> log, CancellationToken cancellationToken)
    {
        using var hostile = NodeIdentity.CreateEphemeral();
        using var hostileOwner = OwnerKey.Generate(2048);
        using var recordKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var honestOwner = OwnerKey.Generate();
        await using var device = await MeshNode.StartAsync(Device(options, victim, 1), cancellationToken: cancellationToken).ConfigureAwait(false);

        // What the attacker can get hold of: the honest owner's delegation to the honest device (a holder sees it on
        // every put of a streamed store), and a delegation of its own key to that same device.
        var replayed = StoreDelegations.Create(honestOwner, device.Id, 0, DateTimeOffset.UtcNow.AddHours(6));
        var aimedElsewhere = StoreDelegations.Create(hostileOwner, device.Id, 0, DateTimeOffset.UtcNow.AddHours(6));

        var before = victim.Memory();
        var stats = await victim.NetworkAsync(cancellationToken).ConfigureAwait(false);
        log($"victim before the flood: RSS {before.Rss >> 20} MiB (peak {before.Peak >> 20} MiB), {stats.Shards} shards, {stats.Bytes} bytes");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(options.Duration);
        var counters = new Counters();
        var sent = new ConcurrentBag<Sha256Hash>();
        long rssMax = before.Rss;
        var tasks = new List<Task>();
        for (int i = 0; i < options.ShardFlooders; i++)
        {
            int seed = i;
            tasks.Add(Task.Run(() => ShardFloodAsync(victim.EndPoint, hostile, seed, [replayed, aimedElsewhere], sent, counters, stop.Token), CancellationToken.None));
        }

        for (int i = 0; i < options.RecordFlooders; i++)
        {
            int seed = 100 + i;
            tasks.Add(Task.Run(() => RecordFloodAsync(victim.EndPoint, hostile, recordKey, seed, counters, stop.Token), CancellationToken.None));
        }

        tasks.Add(Task.Run(async () =>
        {
            while (!stop.Token.IsCancellationRequested)
            {
                var m = victim.Memory();
                InterlockedMax(ref rssMax, m.Rss);
                await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
            }
        }, CancellationToken.None));

        // The honest user, during the flood: two files stored through the victim and read back.
        var honest = new List<string>();
        int mismatches = 0, failures = 0;
        var files = new List<(StoredFile File, byte[] Data)>();
        using var honestBudget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        honestBudget.CancelAfter(HonestBudget);
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(3, options.Duration.TotalSeconds / 4)), cancellationToken).ConfigureAwait(false);
        foreach (var size in (int[])[200 * 1024, (3 * ShardSize) + 100_000])
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var clock = Stopwatch.StartNew();
            try
            {
                var file = await device.Store.StoreAsync(new MemoryStream(data), honestOwner, cancellationToken: honestBudget.Token).ConfigureAwait(false);
                var stored = clock.Elapsed;
                bool same = await ReadsBackAsync(device, file, data, honestBudget.Token).ConfigureAwait(false);
                if (!same) mismatches++;
                honest.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{size} B stored in {stored.TotalSeconds:0.0} s, read back {(same ? "byte-identical" : "DIFFERENT")} in {(clock.Elapsed - stored).TotalSeconds:0.0} s{(stop.IsCancellationRequested ? " (after the flood ended)" : " (during the flood)")}"));
                files.Add((file, data));
            }
            catch (Exception e) when (e is MeshStorageException or OperationCanceledException or TimeoutException)
            {
                failures++;
                honest.Add($"{size} B: {e.GetType().Name}: {e.Message}");
            }
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var after = victim.Memory();
        InterlockedMax(ref rssMax, after.Rss);

        // After the flood, a second device that also knows only the victim reads both files.
        await using (var reader = await MeshNode.StartAsync(Device(options, victim, 2), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            foreach (var (file, data) in files)
            {
                try
                {
                    bool same = await ReadsBackAsync(reader, file, data, honestBudget.Token).ConfigureAwait(false);
                    if (!same) mismatches++;
                    honest.Add($"{data.Length} B read after the flood by another device: {(same ? "byte-identical" : "DIFFERENT")}");
                }
                catch (Exception e) when (e is MeshStorageException or OperationCanceledException or TimeoutException)
                {
                    failures++;
                    honest.Add($"{data.Length} B read after the flood: {e.GetType().Name}: {e.Message}");
                }
            }
        }

        var (kept, keptBytes) = await HeldAsync(victim, hostile, [.. sent], cancellationToken).ConfigureAwait(false);
        var statsAfter = await victim.NetworkAsync(cancellationToken).ConfigureAwait(false);
        return new OutsideFloodReport(options.Nodes, options.Duration, before.Rss, rssMax, after.Peak, counters.Shards, counters.Shards * (long)ShardSize,
            kept, keptBytes, counters.Records, counters.RecordBytes, counters.Connections, stats.Bytes, statsAfter.Bytes, honest, mismatches, failures);
    }

    /// <summary>The honest user's device <paramref name="n"/> on 127.0.0.20n: it stores nothing for others and knows only the victim.</summary>
    private static MeshNodeOptions Device(OutsideFloodOptions options, MeshProcess victim, int n) => new()
    {
        ListenAddress = "127.0.0." + (200 + n).ToString(CultureInfo.InvariantCulture),
        DataDirectory = System.IO.Directory.CreateDirectory(Path.Combine(options.Directory, "device" + n.ToString(CultureInfo.InvariantCulture))).FullName,
        BootstrapPeers = [victim.Bootstrap],
        StoreForOthers = false,
        Repair = { Interval = Timeout.InfiniteTimeSpan },
    };

    private static async Task<bool> ReadsBackAsync(MeshNode device, StoredFile file, byte[] data, CancellationToken cancellationToken)
    {
        await using var stream = await device.Store.RetrieveAsync(file.Cid, file.ContentKey, cancellationToken).ConfigureAwait(false);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.Length == data.Length && copy.GetBuffer().AsSpan(0, data.Length).SequenceEqual(data);
    }

    /// <summary>Which of <paramref name="hashes"/> the victim holds (HAS_SHARDS, 100 a request), and their bytes.</summary>
    private static async Task<(long Count, long Bytes)> HeldAsync(MeshProcess victim, NodeIdentity identity, List<Sha256Hash> hashes, CancellationToken cancellationToken)
    {
        await using var client = new RpcClient(identity, new RpcOptions());
        long count = 0;
        foreach (var batch in hashes.Chunk(100))
        {
            var request = new HasShardsRequest();
            foreach (var h in batch) request.ShardHashes.Add(ByteString.CopyFrom(h.ToArray()));
            var answer = await client.CallAsync(victim.EndPoint, victim.Id, new Request { HasShards = request }, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            count += answer.HasShards.Present.Count(p => p);
        }

        return (count, count * ShardSize);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private sealed class Counters
    {
        public long Shards, Records, RecordBytes, Connections;
    }

    /// <summary>1 MiB shards with fresh random bytes (so a fresh hash) under every kind of authority no owner gave.</summary>
    private static Task ShardFloodAsync(IPEndPoint victim, NodeIdentity identity, int seed, StoreDelegation[] delegations, ConcurrentBag<Sha256Hash> sent,
        Counters counters, CancellationToken token)
    {
        var random = new Random(seed);
        var data = new byte[ShardSize];
        random.NextBytes(data);
        var forged = FileRecords.Type;
        return OverAndOverAsync(victim, identity, counters, token, async s =>
        {
            for (ulong id = 1; !token.IsCancellationRequested; id++)
            {
                random.NextBytes(data.AsSpan(0, 64));
                var hash = Sha256Hash.Compute(data);
                var put = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash.ToArray()), Data = ByteString.CopyFrom(data) };
                switch (id % 5)
                {
                    case 1: put.Delegation = delegations[0]; break;   // the honest owner's delegation to its device, replayed
                    case 2: put.Delegation = delegations[1]; break;   // the attacker's own key, delegated to another node
                    case 3: put.FileCid = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)); break;
                    case 4:
                        // A manifest record that is not one: the file-record type, any bytes, keyed by their hash.
                        var junk = RandomNumberGenerator.GetBytes(600);
                        put.FileRecord = ValueRecords.CreateImmutable(junk, type: forged);
                        break;
                    default: break;                                    // no authority at all
                }

                sent.Add(hash);
                await s.WriteAsync(FuzzCorpus.Wire(new Frame { RequestId = id, Request = new Request { PutShard = put } }), token).ConfigureAwait(false);
                Interlocked.Increment(ref counters.Shards);
            }
        });
    }

    /// <summary>Junk DHT records, 500 a batch: unsigned ones under their hash, signed ones under names of its own, file-typed junk.</summary>
    private static Task RecordFloodAsync(IPEndPoint victim, NodeIdentity identity, ECDsa key, int seed, Counters counters, CancellationToken token)
    {
        var random = new Random(seed);
        ulong sequence = 1;
        return OverAndOverAsync(victim, identity, counters, token, async s =>
        {
            for (ulong id = 1; !token.IsCancellationRequested; id += 100)
            {
                using var batch = new MemoryStream();
                long bytes = 0;
                for (ulong j = 0; j < 100; j++)
                {
                    var value = new byte[random.Next(256, 64 * 1024)];
                    random.NextBytes(value);
                    var record = (j % 4) switch
                    {
                        0 or 1 => ValueRecords.CreateImmutable(value),
                        2 => ValueRecords.CreateSigned(key, BitConverter.GetBytes(random.NextInt64()), value, sequence++),
                        _ => ValueRecords.CreateImmutable(value, type: FileRecords.Type),
                    };
                    bytes += value.Length;
                    batch.Write(FuzzCorpus.Wire(new Frame { RequestId = id + j, Request = new Request { StoreValue = new StoreValueRequest { Record = record } } }));
                }

                await s.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length), token).ConfigureAwait(false);
                Interlocked.Add(ref counters.Records, 100);
                Interlocked.Add(ref counters.RecordBytes, bytes);
            }
        });
    }

    /// <summary>
    /// TLS 1.3 with the hostile identity, its Hello, then <paramref name="session"/> while a reader drains the answers;
    /// again whenever the victim drops the connection, until the run ends.
    /// </summary>
    private static async Task OverAndOverAsync(IPEndPoint victim, NodeIdentity identity, Counters counters, CancellationToken token, Func<Stream, Task> session)
    {
        while (!token.IsCancellationRequested)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.200"), 0));
                await socket.ConnectAsync(victim, token).ConfigureAwait(false);
                await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
                await ssl.AuthenticateAsClientAsync(HostileTls.ClientOptions(identity), token).ConfigureAwait(false);
                await ssl.WriteAsync(FuzzCorpus.Wire(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 0) }), token).ConfigureAwait(false);
                Interlocked.Increment(ref counters.Connections);
                var drain = DrainAsync(ssl, token);
                try
                {
                    await session(ssl).ConfigureAwait(false);
                }
                finally
                {
                    socket.Dispose();
                    await drain.ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
            {
                socket.Dispose();
                if (!token.IsCancellationRequested) await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static async Task DrainAsync(Stream stream, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await stream.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Dropped, or the run ended.
        }
    }
}
