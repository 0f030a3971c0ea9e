using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// Does a 1 GiB file stay under 64 MiB of memory through the pipeline? Encodes 1 GiB generated on the fly to shard
/// files on disk, then decodes them back to nowhere, and prints the process's peak resident set (VmHWM, reset through
/// /proc/self/clear_refs before each phase) next to the resident set before it. Linux only; one iteration.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1)]
public class FilePeakMemory
{
    private const long FileSize = 1L << 30;
    private string _dir = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-peak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    /// <summary>Encode then decode 1 GiB with the default options; peak memory is printed to the log.</summary>
    [Benchmark]
    public async Task EncodeDecode1GiB()
    {
        var key = ContentKey.Generate();
        using var owner = OwnerKey.Create();
        var shards = new DiskShards(_dir);

        var before = ResetPeak();
        var manifest = await new FileEncoder().EncodeAsync(new GeneratedStream(FileSize), key, owner, shards);
        var encodePeak = ReadKb("VmHWM:");

        GC.Collect();
        var beforeDecode = ResetPeak();
        await new FileDecoder(manifest, key, shards).DecodeToAsync(Stream.Null);
        var decodePeak = ReadKb("VmHWM:");

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// PEAK-MEMORY 1 GiB: encode RSS before {before / 1024.0:F1} MiB, peak {encodePeak / 1024.0:F1} MiB (+{(encodePeak - before) / 1024.0:F1}); decode RSS before {beforeDecode / 1024.0:F1} MiB, peak {decodePeak / 1024.0:F1} MiB (+{(decodePeak - beforeDecode) / 1024.0:F1}); manifest {manifest.Bytes.Length} bytes, {manifest.SegmentCount} segments"));
    }

    /// <summary>Resets the kernel's peak-RSS counter to the current RSS and returns it (KiB).</summary>
    private static long ResetPeak()
    {
        File.WriteAllText("/proc/self/clear_refs", "5");
        return ReadKb("VmRSS:");
    }

    /// <summary>A field of /proc/self/status in KiB (e.g. "VmHWM:").</summary>
    internal static long ReadKb(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>One file per segment holding its 15 shards back to back.</summary>
    internal sealed class DiskShards(string dir) : IShardSink, IShardSource
    {
        public async ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            await using var fs = new FileStream(Path.Combine(dir, segment.Index.ToString(CultureInfo.InvariantCulture)), FileMode.Create, FileAccess.Write, FileShare.None, 0);
            foreach (var shard in segment.Shards)
            {
                await fs.WriteAsync(shard, cancellationToken);
            }
        }

        public async ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
        {
            using var handle = File.OpenHandle(Path.Combine(dir, segment.ToString(CultureInfo.InvariantCulture)));
            var read = await RandomAccess.ReadAsync(handle, destination, (long)shard * destination.Length, cancellationToken);
            return read == destination.Length;
        }
    }

    /// <summary>Pseudo-random bytes made on the fly, so the 1 GiB input never exists in memory.</summary>
    internal sealed class GeneratedStream(long length) : Stream
    {
        private readonly Random _random = new(1);
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException("The generated input is read forward only."); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            _random.NextBytes(buffer[..n]);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("The generated input is read forward only.");

        public override void SetLength(long value) => throw new NotSupportedException("The generated input has a fixed length.");

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The generated input is read-only.");
    }
}
