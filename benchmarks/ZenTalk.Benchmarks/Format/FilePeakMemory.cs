using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Win32.SafeHandles;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// Does a 1 GiB file stay under 64 MiB of memory through the pipeline? Encodes 1 GiB generated on the fly to a shard
/// file on disk, then decodes them back to nowhere, and prints the process's peak resident set (VmHWM, reset through
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
        using var owner = OwnerKey.Generate();
        using var shards = new DiskShards(_dir);

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

    /// <summary>
    /// All shards in one file, segment after segment (segment i at i × the first segment's 15 shards, which are the
    /// largest), written and read through one handle with positioned I/O, so a read allocates nothing and the peak
    /// shows the pipeline's memory. (Until 2026-11-26 it opened a file per shard read and read it through the thread
    /// pool: about 6 KiB of garbage per segment, three times what the decoder itself makes, and about 3 MiB of the
    /// decode's peak.)
    /// </summary>
    internal sealed class DiskShards : IShardSink, IShardSource, IDisposable
    {
        private readonly SafeFileHandle _file;
        private long _stride;

        /// <param name="dir">Where the shard file is.</param>
        /// <param name="stride">Bytes per segment, for a reader that did not write the file (0: learnt from segment 0).</param>
        public DiskShards(string dir, long stride = 0)
        {
            _file = File.OpenHandle(Path.Combine(dir, "shards"), FileMode.OpenOrCreate, FileAccess.ReadWrite);
            _stride = stride;
        }

        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            if (_stride == 0) _stride = (long)segment.ShardSize * segment.Shards.Length; // the encoder hands over segment 0 first
            var at = segment.Index * _stride;
            foreach (var shard in segment.Shards)
            {
                RandomAccess.Write(_file, shard.Span, at);
                at += shard.Length;
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
        {
            var read = RandomAccess.Read(_file, destination.Span, (segment * _stride) + ((long)shard * destination.Length));
            return ValueTask.FromResult(read == destination.Length);
        }

        public void Dispose() => _file.Dispose();
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
