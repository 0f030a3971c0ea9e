using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>How hard <see cref="HostileLoad"/> pushes.</summary>
internal sealed record HostileLoadOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>TLS connections that say Hello and then sit there.</summary>
    public int IdleConnections { get; init; } = 300;

    /// <summary>Connections that start a frame (1 MiB announced) and send one byte every 2 s, reconnecting when dropped.</summary>
    public int SlowlorisConnections { get; init; } = 100;

    /// <summary>Plain TCP connections that never start the TLS handshake, reconnecting when dropped.</summary>
    public int SilentConnections { get; init; } = 50;

    /// <summary>Connections pipelining FIND_NODE requests without reading an answer.</summary>
    public int FindNodeFlooders { get; init; } = 4;

    /// <summary>Connections pipelining 1 MiB PUT_SHARD requests whose hash does not match, without reading an answer.</summary>
    public int PutShardFlooders { get; init; } = 4;

    /// <summary>Loops that connect, send a frame over the size limit or a malformed frame, and get dropped.</summary>
    public int BadFrameLoops { get; init; } = 2;
}

/// <summary>What a hostile-load run did and what an honest client saw meanwhile.</summary>
internal sealed record HostileLoadReport(
    TimeSpan Duration, long Connections, long FindNodeSent, long PutShardSent, long BadFrames, long SlowlorisDropped,
    long HonestOk, long HonestFailed, long HonestAfterOk, long HonestAfterFailed, List<NodeMemory> Samples, List<NodeMemory> LiveSamples,
    List<double> HonestMilliseconds)
{
    /// <summary>The highest managed heap right after a forced full GC during the load: what the node really holds.</summary>
    public long PeakLiveHeap => LiveSamples.Count == 0 ? 0 : LiveSamples.Max(s => s.ManagedHeap);

    private double HonestPercentile(double p)
    {
        if (HonestMilliseconds.Count == 0) return 0;
        var sorted = HonestMilliseconds.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    public NodeMemory Peak => new(Samples.Max(s => s.Rss), Samples.Max(s => s.PeakRss), Samples.Max(s => s.ManagedHeap),
        Samples.Max(s => s.Committed), Samples.Max(s => s.Connections), Samples.Max(s => s.Handshakes));

    public override string ToString() =>
        $"{Duration.TotalSeconds:0} s of hostile load: {Connections} hostile connections opened, {FindNodeSent} FIND_NODE and {PutShardSent} bad-hash 1 MiB PUT_SHARD "
        + $"frames written, {BadFrames} oversized/malformed frames, {SlowlorisDropped} slowloris/silent connections dropped by the node; "
        + $"honest rounds (PING + 64 KiB PUT_SHARD + GET_SHARD) during {HonestOk} ok / {HonestFailed} failed (p50 {HonestPercentile(0.5):0} ms, max {HonestPercentile(1):0} ms), "
        + $"after {HonestAfterOk} ok / {HonestAfterFailed} failed; peak of {Samples.Count} samples: {Peak}; live managed heap after a forced GC under load, max of {LiveSamples.Count}: {PeakLiveHeap >> 20} MiB";
}

/// <summary>
/// Floods one node over loopback the way hostile peers can: many connections, slowloris and silent sockets, frames over
/// the size limit and malformed ones, pipelined FIND_NODE and bad-hash PUT_SHARD floods that never read an answer. An
/// honest client keeps calling (PING, PUT_SHARD, GET_SHARD) during and after; the node's memory is sampled throughout.
/// Everything stops by itself at the end of <see cref="HostileLoadOptions.Duration"/>.
/// </summary>
internal static class HostileLoad
{
    private static readonly TimeSpan HonestDeadline = TimeSpan.FromSeconds(60);

    public static async Task<HostileLoadReport> RunAsync(IPEndPoint node, NodeId nodeId, Func<bool, CancellationToken, Task<NodeMemory>> measure,
        HostileLoadOptions options, CancellationToken cancellationToken = default)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var counters = new Counters();
        var samples = new List<NodeMemory> { await measure(false, cancellationToken).ConfigureAwait(false) };
        var live = new List<NodeMemory>();
        var honestMs = new List<double>();
        using var identity = NodeIdentity.CreateEphemeral();
        // The honest peer's puts carry an owner's authority (its delegation to this peer), as every put a node keeps must.
        using var owner = OwnerKey.Generate(2048);
        var session = new StoreDelegationCache(identity.Id, TimeProvider.System).Session(owner, DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        var rpc = new RpcOptions { DefaultCallTimeout = HonestDeadline };
        await using var honest = new RpcClient(identity, rpc);
        var peer = new PeerContact(nodeId, node);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        stop.CancelAfter(options.Duration);
        var token = stop.Token;

        var held = new List<Stream>();
        var tasks = new List<Task>
        {
            Task.Run(async () =>
            {
                for (int i = 0; i < options.IdleConnections && !token.IsCancellationRequested; i++)
                {
                    var s = await TryConnectTlsAsync(node, counters, token).ConfigureAwait(false);
                    if (s is not null) lock (held) held.Add(s);
                }
            }, cancellationToken),
        };
        tasks.AddRange(Enumerable.Range(0, options.SlowlorisConnections).Select(_ => Task.Run(() => SlowlorisAsync(node, counters, token))));
        tasks.AddRange(Enumerable.Range(0, options.SilentConnections).Select(_ => Task.Run(() => SilentAsync(node, counters, token))));
        tasks.AddRange(Enumerable.Range(0, options.FindNodeFlooders).Select(i => Task.Run(() => FindNodeFloodAsync(node, counters, i, token))));
        tasks.AddRange(Enumerable.Range(0, options.PutShardFlooders).Select(i => Task.Run(() => PutShardFloodAsync(node, counters, i, token))));
        tasks.AddRange(Enumerable.Range(0, options.BadFrameLoops).Select(i => Task.Run(() => BadFramesAsync(node, counters, i, token))));
        tasks.Add(Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                // A round started during the flood is allowed to finish after it: on a saturated machine a round can
                // take longer than what is left of the run, and an unfinished round proves nothing either way.
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                if (await HonestRoundAsync(honest, peer, session, cancellationToken).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref counters.HonestOk);
                    lock (honestMs) honestMs.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref counters.HonestFailed);
                }
                await Delay(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
            }
        }, cancellationToken));
        tasks.Add(Task.Run(async () =>
        {
            // Every eighth sample forces a full GC first: the live heap, apart from garbage the GC has not collected yet.
            for (int n = 1; !token.IsCancellationRequested; n++)
            {
                await Delay(TimeSpan.FromMilliseconds(250), token).ConfigureAwait(false);
                bool collect = n % 8 == 0;
                var sample = await measure(collect, CancellationToken.None).ConfigureAwait(false);
                lock (samples) (collect ? live : samples).Add(sample);
            }
        }, cancellationToken));

        await Task.WhenAll(tasks).ConfigureAwait(false);
        var duration = clock.Elapsed;
        foreach (var s in held) await s.DisposeAsync().ConfigureAwait(false);

        // After the flood: every honest round must succeed.
        for (int i = 0; i < 10; i++)
        {
            if (await HonestRoundAsync(honest, peer, session, cancellationToken).ConfigureAwait(false)) counters.HonestAfterOk++;
            else counters.HonestAfterFailed++;
        }

        samples.Add(await measure(false, cancellationToken).ConfigureAwait(false));
        return new HostileLoadReport(duration, counters.Connections, counters.FindNode, counters.PutShard, counters.BadFrames, counters.Dropped,
            counters.HonestOk, counters.HonestFailed, counters.HonestAfterOk, counters.HonestAfterFailed, samples, live, honestMs);
    }

    private sealed class Counters
    {
        public long Connections, FindNode, PutShard, BadFrames, Dropped, HonestOk, HonestFailed, HonestAfterOk, HonestAfterFailed;
    }

    private static async Task Delay(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private static async Task<bool> HonestRoundAsync(RpcClient client, PeerContact node, StoreSession session, CancellationToken token)
    {
        try
        {
            var shard = RandomNumberGenerator.GetBytes(64 * 1024);
            var hash = SHA256.HashData(shard);
            // Generous deadlines: the node and the flood share the machine's cores, so a call may wait long; a
            // failure here must mean the node dropped or refused an honest peer, not that the machine was slow.
            var ping = await client.CallAsync(node, new Request { Ping = new PingRequest { Payload = ByteString.CopyFrom([7]) } }, HonestDeadline, token).ConfigureAwait(false);
            await client.CallAsync(node, new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = ByteString.CopyFrom(shard), Delegation = session.Delegation() } },
                HonestDeadline, token).ConfigureAwait(false);
            var get = await client.CallAsync(node, new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(hash) } }, HonestDeadline, token).ConfigureAwait(false);
            return ping.Ping?.Payload is { Length: 1 } p && p[0] == 7 && get.GetShard?.Data.Span.SequenceEqual(shard) == true;
        }
        catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException or OperationCanceledException or SocketException)
        {
            return false;
        }
    }

    /// <summary>TLS with a fresh valid node identity and the normal Hello; null when the node refused or the run ended.</summary>
    private static async Task<Stream?> TryConnectTlsAsync(IPEndPoint node, Counters counters, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var identity = NodeIdentity.CreateEphemeral();
        try
        {
            await socket.ConnectAsync(node, token).ConfigureAwait(false);
            var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            await ssl.AuthenticateAsClientAsync(HostileTls.ClientOptions(identity), token).ConfigureAwait(false);
            await ssl.WriteAsync(FuzzCorpus.Wire(new Frame { Hello = RpcHandshake.LocalHello(new RpcOptions(), 0) }), token).ConfigureAwait(false);
            Interlocked.Increment(ref counters.Connections);
            return ssl;
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>Reads until the node closes the connection (or the run ends); true when the node closed it.</summary>
    private static async Task<bool> DrainUntilClosedAsync(Stream stream, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (await stream.ReadAsync(buffer, token).ConfigureAwait(false) > 0)
            {
            }

            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task SlowlorisAsync(IPEndPoint node, Counters counters, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            await using var s = await TryConnectTlsAsync(node, counters, token).ConfigureAwait(false);
            if (s is null)
            {
                await Delay(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
                continue;
            }

            var closed = DrainUntilClosedAsync(s, token);
            try
            {
                // A 1 MiB frame announced, then one byte every two seconds.
                await s.WriteAsync(new byte[] { 0x80, 0x80, 0x40 }, token).ConfigureAwait(false);
                while (!closed.IsCompleted && !token.IsCancellationRequested)
                {
                    await s.WriteAsync(new byte[] { 0x0A }, token).ConfigureAwait(false);
                    await Task.WhenAny(closed, Task.Delay(2000, token)).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Dropped by the node, or the run ended.
            }

            if (await closed.ConfigureAwait(false)) Interlocked.Increment(ref counters.Dropped);
        }
    }

    private static async Task SilentAsync(IPEndPoint node, Counters counters, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(node, token).ConfigureAwait(false);
                Interlocked.Increment(ref counters.Connections);
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                if (await DrainUntilClosedAsync(stream, token).ConfigureAwait(false)) Interlocked.Increment(ref counters.Dropped);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                await Delay(TimeSpan.FromMilliseconds(500), token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Connects over TLS again and again until the run ends and runs <paramref name="session"/> on each connection. A
    /// connection the node drops (what should happen to bad frames), or whose writes back-pressure held until the run
    /// ended, just means the next one.
    /// </summary>
    private static async Task OverAndOverAsync(IPEndPoint node, Counters counters, CancellationToken token, Func<Stream, Task> session)
    {
        while (!token.IsCancellationRequested)
        {
            await using var s = await TryConnectTlsAsync(node, counters, token).ConfigureAwait(false);
            if (s is null)
            {
                await Delay(TimeSpan.FromMilliseconds(200), token).ConfigureAwait(false);
                continue;
            }

            try
            {
                await session(s).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Dropped by the node, or the run ended: reconnect.
            }
        }
    }

    private static Task FindNodeFloodAsync(IPEndPoint node, Counters counters, int seed, CancellationToken token)
    {
        var random = new Random(seed);
        return OverAndOverAsync(node, counters, token, async s =>
        {
            for (ulong id = 1; !token.IsCancellationRequested; id += 500)
            {
                using var batch = new MemoryStream();
                for (ulong j = 0; j < 500; j++)
                {
                    var target = new byte[32];
                    random.NextBytes(target);
                    batch.Write(FuzzCorpus.Wire(new Frame { RequestId = id + j, Request = new Request { FindNode = new FindNodeRequest { Target = ByteString.CopyFrom(target) } } }));
                }

                await s.WriteAsync(batch.GetBuffer().AsMemory(0, (int)batch.Length), token).ConfigureAwait(false);
                Interlocked.Add(ref counters.FindNode, 500);
            }
        });
    }

    private static Task PutShardFloodAsync(IPEndPoint node, Counters counters, int seed, CancellationToken token)
    {
        var data = new byte[1 << 20];
        new Random(seed).NextBytes(data);
        var wrongHash = ByteString.CopyFrom(new byte[32]);
        var payload = ByteString.CopyFrom(data);
        return OverAndOverAsync(node, counters, token, async s =>
        {
            for (ulong id = 1; !token.IsCancellationRequested; id++)
            {
                var frame = new Frame { RequestId = id, Request = new Request { PutShard = new PutShardRequest { ShardHash = wrongHash, Data = payload } } };
                await s.WriteAsync(FuzzCorpus.Wire(frame), token).ConfigureAwait(false);
                Interlocked.Increment(ref counters.PutShard);
            }
        });
    }

    private static Task BadFramesAsync(IPEndPoint node, Counters counters, int seed, CancellationToken token)
    {
        var random = new Random(seed);
        return OverAndOverAsync(node, counters, token, async s =>
        {
            byte[] bad;
            if (random.Next(2) == 0)
            {
                // A length prefix of 64 MiB (16x the limit) followed by the start of a body.
                bad = [0x80, 0x80, 0x80, 0x20, .. new byte[1000]];
            }
            else
            {
                var body = new byte[random.Next(1, 2000)];
                random.NextBytes(body);
                var prefix = new byte[5];
                int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
                bad = [.. prefix.AsSpan(0, n), .. body];
            }

            await s.WriteAsync(bad, token).ConfigureAwait(false);
            Interlocked.Increment(ref counters.BadFrames);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(token);
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            await DrainUntilClosedAsync(s, wait.Token).ConfigureAwait(false);
        });
    }
}
