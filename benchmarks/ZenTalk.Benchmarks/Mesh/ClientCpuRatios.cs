using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.Benchmarks.Format;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// What a device pays to store and to retrieve a 64 MiB file beyond the file pipeline itself: the CPU time of this
/// process (a node that does not store for others, its 15 holders in a child process, <see cref="HoldersProcess"/>)
/// per store and per retrieve, divided by the CPU time of the pipeline alone over the same bytes in the same process:
/// the encoder into shards that are dropped, the fully verifying decoder (SHA-256 of every shard it uses) from shards
/// in memory. Beside them, the floor (<see cref="TlsFloor"/>): the same encoder or decoder with the shard bytes sent to
/// or fetched from a bare TLS sink in the holders' process, as many bytes in as many messages as the shard calls
/// carry, with nothing of the mesh around them; each put waits for an acknowledgement as long as a PUT_SHARD response,
/// as any store that learns each shard's outcome must (the floor without them is measured beside it). Each round runs each once, pipeline and floor first or the mesh first
/// by turns, so all meet the same machine; the ratios are taken per round. Part of <c>-- ratios</c>. Beside the default
/// retrieve, the retrieve of the content key's sole holder (<see cref="RetrieveOptions.SoleKeyHolder"/>), against the
/// same fully verifying decoder.
/// <para>
/// The decoder of the pipeline and of the floor reads as MeshStore's retrieve does: as many segments ahead as
/// <see cref="DistributedOptions.ReadSegmentsAhead"/> says by default. Each round also runs the decoder and the floor
/// with <see cref="ShallowSegmentsAhead"/> segments ahead, to show what the deeper read-ahead costs in CPU.
/// </para>
/// </summary>
internal static class ClientCpuRatios
{
    /// <summary>The per-round figures, in milliseconds of process CPU time.</summary>
    internal sealed class Result
    {
        public List<double> Encode { get; } = [];
        public List<double> Store { get; } = [];
        public List<double> Decode { get; } = [];
        public List<double> Retrieve { get; } = [];

        /// <summary>The retrieve of the content key's sole holder (<see cref="RetrieveOptions.SoleKeyHolder"/>): segments
        /// verified by their GCM tag, not by the shard hashes. The pipeline it is compared with still hashes every shard.</summary>
        public List<double> RetrieveByTag { get; } = [];
        public List<double> FloorStore { get; } = [];
        public List<double> FloorRetrieve { get; } = [];
        public List<double> HoldersStore { get; } = [];
        public List<double> HoldersRetrieve { get; } = [];

        /// <summary>The decoder and the retrieve floor with <see cref="ShallowSegmentsAhead"/> segments ahead.</summary>
        public List<double> DecodeShallow { get; } = [];
        public List<double> FloorRetrieveShallow { get; } = [];

        /// <summary>SHA-256 of the shards a retrieve uses (the data shards of every segment), alone: what the decoder's
        /// shard checks cost, and what trusting each segment's GCM tag instead would save.</summary>
        public List<double> HashShards { get; } = [];

        /// <summary>The store floor with puts that are not acknowledged one by one (one acknowledgement per connection at the end).</summary>
        public List<double> FloorStoreUnacked { get; } = [];

        public IEnumerable<double> StoreOverUnackedFloor => Store.Zip(FloorStoreUnacked, (s, f) => s / f);

        /// <summary>Segments the retrieve reads ahead (MeshStore's default).</summary>
        public int SegmentsAhead { get; init; }

        /// <summary>Warm-up rounds run before the measured ones (until the JIT settled).</summary>
        public int WarmupRounds { get; init; }

        /// <summary>JIT compilation time of the last warm-up round, all eleven operations.</summary>
        public double LastWarmupJitMs { get; init; }

        /// <summary>JIT compilation time over all measured rounds.</summary>
        public double MeasuredJitMs { get; set; }

        /// <summary>The decoder at MeshStore's depth against the shallow one: what the deeper read-ahead costs.</summary>
        public IEnumerable<double> DecodeDeepOverShallow => Decode.Zip(DecodeShallow, (d, s) => d / s);

        public IEnumerable<double> FloorDeepOverShallow => FloorRetrieve.Zip(FloorRetrieveShallow, (d, s) => d / s);

        public IEnumerable<double> StoreRatios => Store.Zip(Encode, (s, e) => s / e);

        public IEnumerable<double> RetrieveRatios => Retrieve.Zip(Decode, (r, d) => r / d);

        /// <summary>The floor against the pipeline: the best ratio any client could reach on this transport.</summary>
        public IEnumerable<double> FloorStoreRatios => FloorStore.Zip(Encode, (f, e) => f / e);

        public IEnumerable<double> FloorRetrieveRatios => FloorRetrieve.Zip(Decode, (f, d) => f / d);

        /// <summary>The client against the floor: what the mesh's own work adds.</summary>
        public IEnumerable<double> StoreOverFloor => Store.Zip(FloorStore, (s, f) => s / f);

        public IEnumerable<double> RetrieveOverFloor => Retrieve.Zip(FloorRetrieve, (r, f) => r / f);

        public IEnumerable<double> RetrieveByTagRatios => RetrieveByTag.Zip(Decode, (r, d) => r / d);

        public IEnumerable<double> RetrieveByTagOverFloor => RetrieveByTag.Zip(FloorRetrieve, (r, f) => r / f);
    }

    /// <summary>A warm-up round (eleven operations, about a second of CPU) that compiles less than this has settled.</summary>
    internal const double SettledJitMs = 2.0;

    /// <summary>The most warm-up rounds run while waiting for the JIT to settle.</summary>
    internal const int MaxWarmupRounds = 120;

    /// <summary>Warm-up rounds by default: the tiered JIT's final code needs about 60 calls of a method.</summary>
    internal const int DefaultWarmupRounds = 70;

    /// <summary>The read-ahead depth the deeper default is compared with (the pipeline's own default on 4+ cores).</summary>
    internal const int ShallowSegmentsAhead = 4;

    /// <summary>The operations <c>--loop</c> runs alone, for a profiler attached to this process.</summary>
    internal static readonly string[] LoopKinds = ["store", "retrieve", "retrieve-by-tag", "encode", "decode", "floor-store", "floor-store-unacked", "floor-retrieve"];

    /// <param name="loop">One of <see cref="LoopKinds"/> to run alone, <paramref name="rounds"/> times after the warm-up (its CPU
    /// per operation printed; for a profiler, e.g. <c>perf record -g -p PID</c>, with the same setup as the rounds), or null.</param>
    /// <param name="allocations">With <paramref name="loop"/>: count the loop's allocations by type (<see cref="AllocationSampler"/>).</param>
    public static async Task<Result> MeasureAsync(int size, int warmup, int rounds, string? loop = null, bool allocations = false)
    {
        var input = RandomNumberGenerator.GetBytes(size);
        using var owner = OwnerKey.Generate();
        var key = ContentKey.Generate();
        var kept = new ArrayShards(keep: true);
        var manifest = await new FileEncoder().EncodeAsync(new MemoryStream(input, writable: false), key, owner, kept);
        // The options the mesh's store and retrieve give the pipeline (MeshStore): the default encoder, and a decoder that
        // reads DistributedOptions.ReadSegmentsAhead segments ahead (taken from its defaults, so the floor follows the mesh).
        int segmentsAhead = new DistributedOptions().ReadSegmentsAhead;
        var decodeOptions = new FileCodecOptions { MaxSegmentsInFlight = segmentsAhead };
        var shallowOptions = new FileCodecOptions { MaxSegmentsInFlight = ShallowSegmentsAhead };
        string clientDirectory = Path.Combine(Path.GetTempPath(), "zentalk-ratios-client-" + Guid.NewGuid().ToString("N"));
        using var holders = HoldersProcess.Start(null);
        var client = await MeshNode.StartAsync(new MeshNodeOptions
        {
            DataDirectory = clientDirectory,
            BootstrapPeers = [holders.BootstrapAddress],
            StoreForOthers = false,
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        });
        var floor = await TlsFloor.Client.ConnectAsync(holders.FloorPort(), manifest.TotalShards);
        try
        {
            floor.PutOverhead = PutOverhead(owner, manifest.ShardSize(0));
            await floor.KeepAsync(kept.Segment, manifest.SegmentCount, manifest.DataShards);
            var stored = await client.Store.StoreAsync(new MemoryStream(input, writable: false), owner);
            Task Encode() => new FileEncoder().EncodeAsync(new MemoryStream(input, writable: false), key, owner, new ArrayShards(keep: false));
            Task Store() => client.Store.StoreAsync(new MemoryStream(input, writable: false), owner);
            Task Decode() => new FileDecoder(manifest, key, kept, decodeOptions).DecodeToAsync(Stream.Null);
            Task FloorStore() => new FileEncoder().EncodeAsync(new MemoryStream(input, writable: false), key, owner, floor);
            async Task FloorStoreUnacked()
            {
                floor.AckEachPut = false;
                try
                {
                    await new FileEncoder().EncodeAsync(new MemoryStream(input, writable: false), key, owner, floor);
                    await floor.AcknowledgedAsync();
                }
                finally
                {
                    floor.AckEachPut = true;
                }
            }

            Task HashShards()
            {
                Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
                for (int segment = 0; segment < manifest.SegmentCount; segment++)
                {
                    var shards = kept.Segment(segment);
                    for (int j = 0; j < manifest.DataShards; j++) SHA256.HashData(shards[j], digest);
                }

                return Task.CompletedTask;
            }

            Task FloorRetrieve() => new FileDecoder(manifest, key, floor, decodeOptions).DecodeToAsync(Stream.Null);
            Task DecodeShallow() => new FileDecoder(manifest, key, kept, shallowOptions).DecodeToAsync(Stream.Null);
            Task FloorRetrieveShallow() => new FileDecoder(manifest, key, floor, shallowOptions).DecodeToAsync(Stream.Null);
            async Task Retrieve()
            {
                var stream = await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey);
                await using (stream) await stream.CopyToAsync(Stream.Null);
            }

            var soleKeyHolder = new RetrieveOptions { SoleKeyHolder = true };
            async Task RetrieveByTag()
            {
                var stream = await client.Store.RetrieveAsync(stored.Cid, stored.ContentKey, soleKeyHolder, CancellationToken.None);
                await using (stream) await stream.CopyToAsync(Stream.Null);
            }

            // Through the same measuring code as the rounds, so that the harness's own methods are compiled too.
            var scratch = new List<double>();
            async Task WarmRoundAsync()
            {
                foreach (var operation in new Func<Task>[] { Encode, FloorStore, Store, Decode, FloorRetrieve, Retrieve, RetrieveByTag, DecodeShallow, FloorRetrieveShallow, FloorStoreUnacked, HashShards })
                    scratch.Add(await CpuAsync(operation, holders, scratch));
                scratch.Clear();
            }

            // The tiered JIT gives a method its final code only after about 60 calls (tier 0, then instrumented tier 0
            // for dynamic PGO, then tier 1), and most of the mesh's per-operation methods run once or a few times per
            // operation: after 25 rounds a retrieve still spent ~10 ms per operation in the JIT, the floor under 1 ms,
            // which weighed on the mesh's side of every ratio. So: at least `warmup` rounds (default 70), then more
            // until three rounds in a row compiled under SettledJitMs each (at most MaxWarmupRounds), so that the
            // rounds measure the steady state, as BenchmarkDotNet's warm-up does. The JIT time left in the measured
            // rounds is printed per operation.
            int warmed = 0, settled = 0;
            double lastJitMs = double.NaN;
            while (warmed < MaxWarmupRounds && (warmed < warmup || settled < 3))
            {
                var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
                await WarmRoundAsync();
                lastJitMs = (System.Runtime.JitInfo.GetCompilationTime() - jitBefore).TotalMilliseconds;
                settled = lastJitMs < SettledJitMs ? settled + 1 : 0;
                warmed++;
            }

            JitByOperation.Clear();
            var result = new Result { SegmentsAhead = segmentsAhead, WarmupRounds = warmed, LastWarmupJitMs = lastJitMs };
            var measuredJit = System.Runtime.JitInfo.GetCompilationTime();
            if (loop is not null)
            {
                Func<Task> alone = loop switch
                {
                    "store" => Store,
                    "retrieve" => Retrieve,
                    "retrieve-by-tag" => RetrieveByTag,
                    "encode" => Encode,
                    "decode" => Decode,
                    "floor-store" => FloorStore,
                    "floor-store-unacked" => FloorStoreUnacked,
                    _ => FloorRetrieve,
                };
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}: {rounds} x {loop} after {System.Runtime.JitInfo.GetCompiledMethodCount()} methods compiled"));
                using var sampler = allocations ? new AllocationSampler() : null;
                using var calls = allocations ? new RpcCallCounter() : null;
                var cpu = new List<double>();
                long allocated = GC.GetTotalAllocatedBytes(precise: true);
                int gcs = GC.CollectionCount(0);
                long methods = System.Runtime.JitInfo.GetCompiledMethodCount();
                var jit = System.Runtime.JitInfo.GetCompilationTime();
                for (int i = 0; i < rounds; i++) cpu.Add(await CpuAsync(alone, null, null));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{loop}: median {Erasure.ErasurePeerTool.Median(cpu):F1} ms of CPU per operation; per operation {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / rounds / 1024.0:F0} KiB allocated, {(GC.CollectionCount(0) - gcs) / (double)rounds:F2} GCs, {(System.Runtime.JitInfo.GetCompiledMethodCount() - methods) / (double)rounds:F1} methods compiled in {(System.Runtime.JitInfo.GetCompilationTime() - jit).TotalMilliseconds / rounds:F2} ms"));
                sampler?.Print();
                calls?.Print(rounds);
                return result;
            }

            for (int round = 0; round < rounds; round++)
            {
                bool meshFirst = round % 2 == 1;
                if (meshFirst)
                {
                    result.Store.Add(await CpuAsync(Store, holders, result.HoldersStore));
                    result.Retrieve.Add(await CpuAsync(Retrieve, holders, result.HoldersRetrieve));
                    result.RetrieveByTag.Add(await CpuAsync(RetrieveByTag, null, null));
                }

                result.Encode.Add(await CpuAsync(Encode, null, null));
                if (meshFirst) result.FloorStoreUnacked.Add(await CpuAsync(FloorStoreUnacked, null, null));
                result.FloorStore.Add(await CpuAsync(FloorStore, null, null));
                if (!meshFirst) result.FloorStoreUnacked.Add(await CpuAsync(FloorStoreUnacked, null, null));
                // The two read-ahead depths by turns as well.
                if (meshFirst) result.DecodeShallow.Add(await CpuAsync(DecodeShallow, null, null));
                result.Decode.Add(await CpuAsync(Decode, null, null));
                result.HashShards.Add(await CpuAsync(HashShards, null, null));
                if (!meshFirst) result.DecodeShallow.Add(await CpuAsync(DecodeShallow, null, null));
                if (meshFirst) result.FloorRetrieveShallow.Add(await CpuAsync(FloorRetrieveShallow, null, null));
                result.FloorRetrieve.Add(await CpuAsync(FloorRetrieve, null, null));
                if (!meshFirst) result.FloorRetrieveShallow.Add(await CpuAsync(FloorRetrieveShallow, null, null));
                if (!meshFirst)
                {
                    result.Store.Add(await CpuAsync(Store, holders, result.HoldersStore));
                    result.RetrieveByTag.Add(await CpuAsync(RetrieveByTag, null, null));
                    result.Retrieve.Add(await CpuAsync(Retrieve, holders, result.HoldersRetrieve));
                }
            }

            result.MeasuredJitMs = (System.Runtime.JitInfo.GetCompilationTime() - measuredJit).TotalMilliseconds;
            return result;
        }
        finally
        {
            await floor.DisposeAsync();
            await client.DisposeAsync();
            if (Directory.Exists(clientDirectory)) Directory.Delete(clientDirectory, recursive: true);
        }
    }

    /// <summary>Bytes a PUT_SHARD frame of a store carries beyond its shard (prefix, ids, hash, the owner's delegation).</summary>
    private static int PutOverhead(OwnerKey owner, int shardSize)
    {
        var session = new StoreDelegationCache(NodeIdentity.CreateEphemeral().Id, TimeProvider.System).Session(owner, 0);
        var frame = new Frame
        {
            RequestId = 1000,
            DeadlineMs = 30_000,
            Request = new Request
            {
                PutShard = new PutShardRequest
                {
                    ShardHash = ByteString.CopyFrom(new byte[Sha256Hash.Size]),
                    Data = UnsafeByteOperations.UnsafeWrap(new byte[shardSize]),
                    Delegation = session.Delegation(),
                },
            },
        };
        return FrameWriter.WireSize(frame, out _) - shardSize;
    }

    /// <summary>JIT compilation time while each kind of operation was measured (by its local function's name).</summary>
    private static readonly Dictionary<string, double> JitByOperation = [];

    /// <summary>"&lt;MeasureAsync&gt;g__FloorStore|3" → "FloorStore".</summary>
    private static string OperationName(string method) =>
        method.IndexOf("g__", StringComparison.Ordinal) is var i and >= 0 ? method[(i + 3)..].Split('|')[0] : method;

    /// <summary>This process's CPU milliseconds for one operation (getrusage on Unix: microseconds), and the holders'.</summary>
    private static async Task<double> CpuAsync(Func<Task> operation, HoldersProcess? holders, List<double>? holdersCpu)
    {
        var holdersBefore = holders?.Cpu() ?? TimeSpan.Zero;
        var jit = System.Runtime.JitInfo.GetCompilationTime();
        var before = Environment.CpuUsage.TotalTime;
        await operation();
        double ms = (Environment.CpuUsage.TotalTime - before).TotalMilliseconds;
        var name = operation.Method.Name;
        JitByOperation[name] = JitByOperation.GetValueOrDefault(name) + (System.Runtime.JitInfo.GetCompilationTime() - jit).TotalMilliseconds;
        if (holders is not null) holdersCpu!.Add((holders.Cpu() - holdersBefore).TotalMilliseconds);
        return ms;
    }

    /// <summary>Prints the rounds and their medians.</summary>
    public static void Print(Result r, int size)
    {
        string mib = $"{size >> 20} MiB";
        Console.WriteLine();
        Console.WriteLine($"{mib} through a client node (holders in a child process): ms of this process's CPU per operation, per round; ratios per round.");
        Console.WriteLine("Floor: the same pipeline with its shard bytes sent to (fetched from) a bare TLS sink in the holders' process; each put waits for a PUT_SHARD-sized acknowledgement.");
        Console.WriteLine();
        Console.WriteLine("| Round | Encode | Floor | Store | **Store / encode** | Store / floor | Decode | Floor | Retrieve | **Retrieve / decode** | Retrieve / floor | Holders: store / retrieve |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var storeRatios = r.StoreRatios.ToList();
        var retrieveRatios = r.RetrieveRatios.ToList();
        var storeOverFloor = r.StoreOverFloor.ToList();
        var retrieveOverFloor = r.RetrieveOverFloor.ToList();
        for (int i = 0; i < r.Encode.Count; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {i + 1} | {r.Encode[i]:F0} | {r.FloorStore[i]:F0} | {r.Store[i]:F0} | **{storeRatios[i]:F2}x** | {storeOverFloor[i]:F2}x | {r.Decode[i]:F0} | {r.FloorRetrieve[i]:F0} | {r.Retrieve[i]:F0} | **{retrieveRatios[i]:F2}x** | {retrieveOverFloor[i]:F2}x | {r.HoldersStore[i]:F0} / {r.HoldersRetrieve[i]:F0} |"));
        }

        static double M(List<double> v) => Erasure.ErasurePeerTool.Median(v);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| median | {M(r.Encode):F0} | {M(r.FloorStore):F0} | {M(r.Store):F0} | **{M(storeRatios):F2}x** | {M(storeOverFloor):F2}x | {M(r.Decode):F0} | {M(r.FloorRetrieve):F0} | {M(r.Retrieve):F0} | **{M(retrieveRatios):F2}x** | {M(retrieveOverFloor):F2}x | {M(r.HoldersStore):F0} / {M(r.HoldersRetrieve):F0} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| ratio of medians | | | | **{M(r.Store) / M(r.Encode):F2}x** | {M(r.Store) / M(r.FloorStore):F2}x | | | | **{M(r.Retrieve) / M(r.Decode):F2}x** | {M(r.Retrieve) / M(r.FloorRetrieve):F2}x | |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Store floor without a per-put acknowledgement (one per connection at the end): median {M(r.FloorStoreUnacked):F0} ms; store / it, per round {M([.. r.StoreOverUnackedFloor]):F2}x, ratio of medians {M(r.Store) / M(r.FloorStoreUnacked):F2}x."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Read-ahead: {r.SegmentsAhead} segments (MeshStore's default) against {ShallowSegmentsAhead}, ms of CPU, medians: decode {M(r.Decode):F0} / {M(r.DecodeShallow):F0} (per round {M([.. r.DecodeDeepOverShallow]):F2}x), floor {M(r.FloorRetrieve):F0} / {M(r.FloorRetrieveShallow):F0} (per round {M([.. r.FloorDeepOverShallow]):F2}x)."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"SHA-256 of the shards a retrieve uses, alone: median {M(r.HashShards):F0} ms, {M(r.HashShards) / M(r.Decode):P0} of the decode pipeline and {M(r.HashShards) / M(r.Retrieve):P0} of the retrieve: what the sole key holder's read, which trusts each segment's GCM tag instead, saves."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Retrieve by the content key's sole holder (RetrieveOptions.SoleKeyHolder, tag-verified): median {M(r.RetrieveByTag):F0} ms against {M(r.Retrieve):F0} ms; / the (hashing) decode pipeline per round {M([.. r.RetrieveByTagRatios]):F2}x (ratio of medians {M(r.RetrieveByTag) / M(r.Decode):F2}x); / floor {M([.. r.RetrieveByTagOverFloor]):F2}x."));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Warm-up: {r.WarmupRounds} rounds, until three rounds in a row compiled under {SettledJitMs} ms each (the last: {r.LastWarmupJitMs:F1} ms); JIT during the {r.Encode.Count} measured rounds: {r.MeasuredJitMs:F1} ms ({string.Join(", ", JitByOperation.Select(p => $"{OperationName(p.Key)} {p.Value:F0}"))})."));
    }
}
