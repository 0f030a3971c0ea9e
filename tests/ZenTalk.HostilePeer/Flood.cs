using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.HostilePeer;

/// <summary>What <c>flood</c> was told to do.</summary>
internal sealed record FloodOptions
{
    public required Target Target { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The source address to dial from (another host on loopback); null lets the OS choose.</summary>
    public IPAddress? Bind { get; init; }

    /// <summary>Connections pipelining 1 MiB PUT_SHARDs that no owner authorized.</summary>
    public int ShardConnections { get; init; } = 3;

    /// <summary>Connections pipelining STORE_VALUEs of junk records, 100 a write.</summary>
    public int RecordConnections { get; init; } = 3;

    /// <summary>A store delegation seen elsewhere (a holder sees one on every put of a streamed store), sent again.</summary>
    public StoreDelegation? Replayed { get; init; }

    public int Seed { get; init; } = 1;
}

/// <summary>
/// The flood: for <see cref="FloodOptions.Duration"/>, <see cref="FloodOptions.ShardConnections"/> connections pipeline
/// 1 MiB PUT_SHARDs (fresh bytes each, so a fresh hash) under every kind of authority no owner gave, and
/// <see cref="FloodOptions.RecordConnections"/> connections pipeline STORE_VALUEs of junk records; each connection reads
/// the victim's answers as they come and counts them by status, and dials again whenever the victim drops it. Then one
/// more connection asks the victim with HAS_SHARDS which of the shards it keeps.
/// </summary>
internal sealed class Flood
{
    public const int ShardSize = 1 << 20;

    /// <summary>The kinds of unauthorized put, in the order they take turns.</summary>
    public static readonly string[] PutKinds = ["none", "replayedDelegation", "ownKeyDelegatedToAnotherNode", "unknownCid", "forgedFileRecord"];

    public static readonly string[] RecordKinds = ["immutable", "signed", "fileTypedJunk"];

    private readonly FloodOptions _options;
    private readonly PeerIdentity _identity;
    private readonly Action<string> _log;
    private readonly ConcurrentQueue<byte[]> _sentHashes = new();
    private readonly long[] _puts = new long[PutKinds.Length];
    private readonly long[] _records = new long[RecordKinds.Length];
    private readonly ConcurrentDictionary<string, long> _putAnswers = new();
    private readonly ConcurrentDictionary<string, long> _recordAnswers = new();
    private long _connections, _refusedDials, _dropped, _shardBytes, _recordBytes;

    private Flood(FloodOptions options, PeerIdentity identity, Action<string> log)
    {
        _options = options;
        _identity = identity;
        _log = log;
    }

    /// <summary>Floods, checks what the victim kept, and returns the report (one JSON object).</summary>
    public static async Task<JsonObject> RunAsync(FloodOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        using var identity = PeerIdentity.Create();
        log($"hostile peer {Convert.ToHexStringLower(identity.Id)} floods {options.Target.EndPoint} for {options.Duration.TotalSeconds:0} s");
        var flood = new Flood(options, identity, log);
        var clock = Stopwatch.StartNew();
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            stop.CancelAfter(options.Duration);
            using var ownerKey = RSA.Create(2048);
            var ownDelegation = Junk.Delegation(ownerKey, options.Target.Id, 0, DateTimeOffset.UtcNow.AddHours(6));
            using var recordKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var tasks = new List<Task>();
            for (int i = 0; i < options.ShardConnections; i++)
            {
                int seed = options.Seed * 1000 + i;
                tasks.Add(Task.Run(() => flood.OverAndOverAsync(flood._putAnswers, (c, t) => flood.ShardsAsync(c, seed, ownDelegation, t), stop.Token), CancellationToken.None));
            }

            for (int i = 0; i < options.RecordConnections; i++)
            {
                int seed = options.Seed * 1000 + 100 + i;
                tasks.Add(Task.Run(() => flood.OverAndOverAsync(flood._recordAnswers, (c, t) => flood.RecordsAsync(c, recordKey, seed, t), stop.Token), CancellationToken.None));
            }

            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        var floodTime = clock.Elapsed;
        var (kept, asked) = await flood.KeptAsync(cancellationToken).ConfigureAwait(false);
        return flood.Report(floodTime, kept, asked);
    }

    /// <summary>
    /// Dials, runs <paramref name="send"/> on the connection while a reader counts the answers, and dials again when the
    /// victim drops it, until the run ends.
    /// </summary>
    private async Task OverAndOverAsync(ConcurrentDictionary<string, long> answers, Func<WireConnection, CancellationToken, Task> send, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            WireConnection connection;
            try
            {
                connection = await WireConnection.OpenAsync(_options.Target, _identity, _options.Bind, token).ConfigureAwait(false);
            }
            catch (Exception e) when (IsConnectionEnd(e))
            {
                if (token.IsCancellationRequested) break;
                if (Interlocked.Increment(ref _refusedDials) <= 5) _log($"dial refused: {e.GetType().Name}: {e.Message}");
                await Pause(token).ConfigureAwait(false);
                continue;
            }

            Interlocked.Increment(ref _connections);
            await using (connection.ConfigureAwait(false))
            {
                using var ended = CancellationTokenSource.CreateLinkedTokenSource(token);
                var reader = CountAnswersAsync(connection, answers, ended.Token);
                try
                {
                    await send(connection, ended.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (IsConnectionEnd(e))
                {
                    // Dropped by the victim, or the run ended.
                }

                await ended.CancelAsync().ConfigureAwait(false);
                if (await reader.ConfigureAwait(false) && !token.IsCancellationRequested) Interlocked.Increment(ref _dropped);
            }
        }
    }

    /// <summary>Reads answers until the connection ends; true when the victim closed it.</summary>
    private static async Task<bool> CountAnswersAsync(WireConnection connection, ConcurrentDictionary<string, long> answers, CancellationToken token)
    {
        try
        {
            while (await connection.ReadAsync(token).ConfigureAwait(false) is { } frame)
            {
                if (frame.Response is { } response) answers.AddOrUpdate((response.Status?.Code ?? StatusCode.Ok).ToString(), 1, (_, n) => n + 1);
            }

            return true;
        }
        catch (Exception e) when (IsConnectionEnd(e) || e is InvalidDataException)
        {
            return !token.IsCancellationRequested;
        }
    }

    private async Task ShardsAsync(WireConnection connection, int seed, StoreDelegation ownDelegation, CancellationToken token)
    {
        var random = new Random(seed);
        var data = new byte[ShardSize];
        random.NextBytes(data);
        using var frame = new MemoryStream(ShardSize + 4096);
        for (ulong id = 1; !token.IsCancellationRequested; id++)
        {
            random.NextBytes(data.AsSpan(0, 64));
            var hash = SHA256.HashData(data);
            var put = new PutShardRequest { ShardHash = ByteString.CopyFrom(hash), Data = UnsafeByteOperations.UnsafeWrap(data) };
            int kind = (int)(id % (ulong)PutKinds.Length);
            if (kind == 1 && _options.Replayed is null) kind = 0;
            switch (kind)
            {
                case 1: put.Delegation = _options.Replayed; break;           // an honest owner's delegation to another node, replayed
                case 2: put.Delegation = ownDelegation; break;               // its own key, delegated to another node (the victim)
                case 3: put.FileCid = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)); break;
                case 4: put.FileRecord = Junk.Immutable(RandomNumberGenerator.GetBytes(600), Junk.FileRecordType); break;
                default: break;                                              // no authority at all
            }

            frame.SetLength(0);
            WireConnection.Append(frame, new Frame { RequestId = id, Request = new Request { PutShard = put } });
            _sentHashes.Enqueue(hash);
            await connection.WriteAsync(frame, token).ConfigureAwait(false);
            Interlocked.Increment(ref _puts[kind]);
            Interlocked.Add(ref _shardBytes, ShardSize);
        }
    }

    private async Task RecordsAsync(WireConnection connection, ECDsa key, int seed, CancellationToken token)
    {
        var random = new Random(seed);
        using var batch = new MemoryStream();
        for (ulong id = 1; !token.IsCancellationRequested; id += 100)
        {
            batch.SetLength(0);
            var kinds = new int[RecordKinds.Length];
            long bytes = 0;
            for (ulong j = 0; j < 100; j++)
            {
                var value = new byte[random.Next(256, 64 * 1024)];
                random.NextBytes(value);
                int kind = (int)(j % 4) switch { 0 or 1 => 0, 2 => 1, _ => 2 };
                var record = kind switch
                {
                    0 => Junk.Immutable(value),
                    1 => Junk.Signed(key, BitConverter.GetBytes(random.NextInt64()), value, id + j),
                    _ => Junk.Immutable(value, Junk.FileRecordType),
                };
                kinds[kind]++;
                bytes += value.Length;
                WireConnection.Append(batch, new Frame { RequestId = id + j, Request = new Request { StoreValue = new StoreValueRequest { Record = record } } });
            }

            await connection.WriteAsync(batch, token).ConfigureAwait(false);
            for (int k = 0; k < kinds.Length; k++) Interlocked.Add(ref _records[k], kinds[k]);
            Interlocked.Add(ref _recordBytes, bytes);
        }
    }

    /// <summary>After the flood: which of the shards sent the victim holds (HAS_SHARDS, 1,000 hashes a request).</summary>
    private async Task<(long Kept, long Asked)> KeptAsync(CancellationToken cancellationToken)
    {
        var hashes = _sentHashes.ToArray();
        long kept = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(120));
        var connection = await WireConnection.OpenAsync(_options.Target, _identity, _options.Bind, deadline.Token).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            ulong id = 0;
            foreach (var chunk in hashes.Chunk(1000))
            {
                var request = new HasShardsRequest();
                request.ShardHashes.AddRange(chunk.Select(h => ByteString.CopyFrom(h)));
                await connection.WriteAsync(new Frame { RequestId = ++id, Request = new Request { HasShards = request } }, deadline.Token).ConfigureAwait(false);
                var answer = await connection.ReadAsync(deadline.Token).ConfigureAwait(false)
                             ?? throw new IOException("the victim closed the connection before answering HAS_SHARDS");
                if (answer.RequestId != id || answer.Response?.HasShards is not { } present || present.Present.Count != chunk.Length)
                    throw new IOException($"HAS_SHARDS was answered {answer.Response?.Status?.Code} {answer.Response?.Status?.Message}");
                kept += present.Present.Count(p => p);
            }
        }

        return (kept, hashes.Length);
    }

    private JsonObject Report(TimeSpan duration, long kept, long asked)
    {
        static JsonObject Counts(IEnumerable<KeyValuePair<string, long>> counts)
        {
            var o = new JsonObject();
            foreach (var (name, n) in counts.OrderBy(c => c.Key, StringComparer.Ordinal)) o[name] = n;
            return o;
        }

        return new JsonObject
        {
            ["identity"] = Convert.ToHexStringLower(_identity.Id),
            ["seconds"] = Math.Round(duration.TotalSeconds, 1),
            ["connections"] = Interlocked.Read(ref _connections),
            ["refusedDials"] = Interlocked.Read(ref _refusedDials),
            ["droppedByVictim"] = Interlocked.Read(ref _dropped),
            ["records"] = _records.Sum(),
            ["recordBytes"] = Interlocked.Read(ref _recordBytes),
            ["recordsByKind"] = Counts(RecordKinds.Select((k, i) => KeyValuePair.Create(k, _records[i]))),
            ["recordAnswers"] = Counts(_recordAnswers),
            ["shards"] = _puts.Sum(),
            ["shardBytes"] = Interlocked.Read(ref _shardBytes),
            ["putsByKind"] = Counts(PutKinds.Select((k, i) => KeyValuePair.Create(k, _puts[i]))),
            ["putAnswers"] = Counts(_putAnswers),
            ["shardsAsked"] = asked,
            ["shardsKept"] = kept,
            ["shardBytesKept"] = kept * ShardSize,
        };
    }

    private static bool IsConnectionEnd(Exception e) =>
        e is IOException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException;

    private static async Task Pause(CancellationToken token)
    {
        try
        {
            await Task.Delay(100, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }
}
