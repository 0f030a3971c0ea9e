using System.Buffers;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using ZenTalk.Sdk.Tests.Hardening.Drivers;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Rpc;

/// <summary>
/// Is a frame reader on System.IO.Pipelines (<see cref="PipeFrameReader"/>) as fast as the hand-rolled
/// <see cref="FrameReader"/>? Both read the same frames from the same in-memory stream, which hands them out in reads
/// of 1 to 16 KiB (an <see cref="System.Net.Security.SslStream"/> returns at most one TLS record's plaintext per read),
/// so only the readers' own work differs. A PUT_SHARD's array is given back to the pool after each frame, as the server does.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class FrameReading
{
    private const int MaxFrameSize = 4 << 20;
    private byte[] _wire = [];
    private int _frames;

    /// <summary>What the stream carries: 4,096 PING requests, or PUT_SHARD requests of 100 KiB (a 1 MiB segment's
    /// shard) or 1 MiB shards, 32 MiB of them.</summary>
    [Params("Ping", "PutShard100K", "PutShard1M")]
    public string Frames { get; set; } = "Ping";

    [GlobalSetup]
    public void Setup()
    {
        var frames = Frames switch
        {
            "Ping" => Enumerable.Range(1, 4096).Select(i => new Frame { RequestId = (ulong)i, Request = new Request { Ping = new PingRequest() } }),
            "PutShard100K" => Enumerable.Range(1, 320).Select(i => PutShard(i, 100 * 1024)),
            "PutShard1M" => Enumerable.Range(1, 32).Select(i => PutShard(i, 1 << 20)),
            _ => throw new ArgumentException(Frames),
        };
        var wire = new MemoryStream();
        _frames = 0;
        foreach (var frame in frames)
        {
            frame.WriteDelimitedTo(wire);
            _frames++;
        }

        _wire = wire.ToArray();
    }

    private static Frame PutShard(int id, int size)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        return new Frame
        {
            RequestId = (ulong)id,
            Request = new Request { PutShard = new PutShardRequest { ShardHash = ByteString.CopyFrom(SHA256.HashData(data)), Data = ByteString.CopyFrom(data), FileCid = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)) } },
        };
    }

    [Benchmark(Baseline = true)]
    public async Task<int> HandRolled()
    {
        using var reader = new FrameReader(Wire(), MaxFrameSize);
        int read = 0;
        while (await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false) is not null)
        {
            if (reader.TakeLease() is { } lease) ArrayPool<byte>.Shared.Return(lease);
            read++;
        }

        return read == _frames ? read : throw new InvalidOperationException($"read {read} of {_frames} frames");
    }

    [Benchmark]
    public Task<int> Pipelines() => ReadWithPipe(largeFramesFromStream: false);

    /// <summary>Pipelines for prefixes and small frames; a large frame's unbuffered bytes straight from the stream.</summary>
    [Benchmark]
    public Task<int> PipelinesLargeFromStream() => ReadWithPipe(largeFramesFromStream: true);

    private async Task<int> ReadWithPipe(bool largeFramesFromStream)
    {
        using var reader = new PipeFrameReader(Wire(), MaxFrameSize, largeFramesFromStream);
        int read = 0;
        while (await reader.ReadAsync(null, CancellationToken.None).ConfigureAwait(false) is not null)
        {
            if (reader.TakeLease() is { } lease) ArrayPool<byte>.Shared.Return(lease);
            read++;
        }

        return read == _frames ? read : throw new InvalidOperationException($"read {read} of {_frames} frames");
    }

    /// <summary>Reads of 1 to 16,384 bytes (at most one TLS record's plaintext, as SslStream returns), the same seeded
    /// sequence for every reader.</summary>
    private Stream Wire() => new ChunkedStream(_wire, new Random(20), 16 * 1024);
}
