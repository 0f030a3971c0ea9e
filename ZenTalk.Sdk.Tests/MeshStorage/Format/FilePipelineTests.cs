using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Format.Proto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Format;

public class FilePipelineTests
{
    private const int Small = 4096; // the smallest segment size keeps multi-segment tests fast
    private static readonly Lazy<OwnerKey> Owner = new(() => OwnerKey.Generate(2048));

    private static FileCodecOptions Options(int segmentSize = Small, int inFlight = 3) =>
        new() { SegmentSize = segmentSize, MaxSegmentsInFlight = inFlight };

    private static async Task<(Manifest Manifest, MemoryShards Shards)> Encode(byte[] data, ContentKey key, FileCodecOptions options)
    {
        var shards = new MemoryShards();
        var manifest = await new FileEncoder(options).EncodeAsync(new MemoryStream(data), key, Owner.Value, shards);
        return (manifest, shards);
    }

    private static async Task<byte[]> Decode(Manifest manifest, ContentKey key, IShardSource source, FileCodecOptions options)
    {
        var output = new MemoryStream();
        await new FileDecoder(manifest, key, source, options).DecodeToAsync(output);
        return output.ToArray();
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(Small - 1)]
    [TestCase(Small)]
    [TestCase(Small + 1)]
    [TestCase((5 * Small) + 17)]
    public async Task Round_trip_is_byte_for_byte(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        Assert.That(manifest.PlaintextSize, Is.EqualTo(length));
        Assert.That(manifest.SegmentCount, Is.EqualTo(Math.Max(1, (length + Small - 1) / Small)));
        Assert.That(shards.SegmentsWritten, Is.EqualTo(manifest.SegmentCount));
        // The manifest a node fetches by CID opens and decodes the same.
        var fetched = Manifest.Open(manifest.Bytes.ToArray(), manifest.Cid);
        Assert.That(await Decode(fetched, key, shards, Options()), Is.EqualTo(data));
    }

    [Test]
    public async Task Round_trip_with_the_default_segment_size_and_a_single_segment_in_flight()
    {
        var data = RandomNumberGenerator.GetBytes((3 * FileCodecOptions.DefaultSegmentSize) + 5);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, new FileCodecOptions { MaxSegmentsInFlight = 1 });
        Assert.That(manifest.SegmentCount, Is.EqualTo(4));
        Assert.That(await Decode(manifest, key, shards, new FileCodecOptions { MaxSegmentsInFlight = 1 }), Is.EqualTo(data));
    }

    /// <summary>A sink that keeps each segment's buffer (as the store's placement does) and a copy made during the call.</summary>
    private sealed class TakingSink : IShardSink, IShardSource
    {
        public List<(byte[] Buffer, int ShardSize, byte[][] Copies)> Segments { get; } = [];

        public Func<byte[]>? Previous { get; private set; }

        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            var copies = segment.Shards.Select(s => s.ToArray()).ToArray();
            var buffer = segment.TakeBuffer!();
            Assert.Throws<InvalidOperationException>(() => segment.TakeBuffer!(), "a buffer is taken once");
            Segments.Add((buffer, segment.ShardSize, copies));
            Previous = segment.TakeBuffer;
            return ValueTask.CompletedTask;
        }

        public ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
        {
            var (buffer, size, _) = Segments[segment];
            buffer.AsMemory(shard * size, size).CopyTo(destination);
            return ValueTask.FromResult(true);
        }
    }

    [TestCase(1)]
    [TestCase(3)]
    public async Task A_sink_that_takes_the_encoders_buffers_keeps_every_segments_shards_intact(int inFlight)
    {
        var data = RandomNumberGenerator.GetBytes((7 * Small) + 100);
        var key = ContentKey.Generate();
        var sink = new TakingSink();
        var manifest = await new FileEncoder(Options(inFlight: inFlight)).EncodeAsync(new MemoryStream(data), key, Owner.Value, sink);
        Assert.That(sink.Segments, Has.Count.EqualTo(8));
        Assert.That(sink.Segments.Select(s => s.Buffer).Distinct().Count(), Is.EqualTo(8), "every segment was encoded into a buffer of its own");
        for (var s = 0; s < sink.Segments.Count; s++)
        {
            var (buffer, size, copies) = sink.Segments[s];
            for (var j = 0; j < copies.Length; j++)
            {
                Assert.That(buffer.AsSpan(j * size, size).SequenceEqual(copies[j]), Is.True, $"segment {s} shard {j} unchanged after the encoder went on");
                Assert.That(manifest.ShardHash(s, j).Matches(copies[j]), Is.True);
            }
        }

        Assert.That(await Decode(manifest, key, sink, Options()), Is.EqualTo(data));
        Assert.Throws<InvalidOperationException>(() => sink.Previous!(), "not after the sink's call");
        foreach (var segment in sink.Segments) System.Buffers.ArrayPool<byte>.Shared.Return(segment.Buffer);
    }

    [Test]
    public async Task Fifty_megabyte_file_round_trips_streamed()
    {
        const long size = 50L * 1000 * 1000;
        var key = ContentKey.Generate();
        var shards = new MemoryShards();
        var source = new PatternStream(size, seed: 1);
        var manifest = await new FileEncoder().EncodeAsync(source, key, Owner.Value, shards);
        Assert.That(manifest.PlaintextSize, Is.EqualTo(size));

        using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reference = new PatternStream(size, seed: 1);
        var chunk = new byte[81920];
        int n;
        while ((n = reference.Read(chunk)) > 0)
        {
            expected.AppendData(chunk.AsSpan(0, n));
        }

        using var actual = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var stream = new FileDecoder(manifest, key, shards).OpenRead();
        long total = 0;
        var readBuffer = new byte[65536 + 7]; // odd size: reads straddle segment boundaries
        while ((n = await stream.ReadAsync(readBuffer)) > 0)
        {
            actual.AppendData(readBuffer.AsSpan(0, n));
            total += n;
        }

        Assert.That(total, Is.EqualTo(size));
        Assert.That(actual.GetHashAndReset(), Is.EqualTo(expected.GetHashAndReset()));
    }

    [Test]
    public async Task Decode_succeeds_with_any_five_of_fifteen_shards_missing_or_corrupted_per_segment()
    {
        var data = RandomNumberGenerator.GetBytes((40 * Small) + 123);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        var random = new Random(5);
        for (var segment = 0; segment < manifest.SegmentCount; segment++)
        {
            // Segment 0 loses every parity-free path: the first five data shards; the rest are random.
            var victims = segment == 0 ? [0, 1, 2, 3, 4] : Enumerable.Range(0, 15).OrderBy(_ => random.Next()).Take(5).ToArray();
            foreach (var shard in victims)
            {
                if (random.Next(2) == 0)
                {
                    shards.Shards.TryRemove((segment, shard), out _);
                }
                else
                {
                    shards.Shards[(segment, shard)][random.Next(manifest.ShardSize(segment))] ^= 0x40;
                }
            }
        }

        Assert.That(await Decode(manifest, key, shards, Options()), Is.EqualTo(data));
    }

    [Test]
    public async Task Six_bad_shards_in_a_segment_make_it_unavailable()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        for (var shard = 0; shard < 6; shard++)
        {
            shards.Shards.TryRemove((1, shard * 2), out _);
        }

        var ex = Assert.ThrowsAsync<ShardsUnavailableException>(() => Decode(manifest, key, shards, Options()));
        Assert.That(ex!.Message, Does.Contain("Segment 1"));
        Assert.That((ex.Cid, ex.SegmentIndex, ex.ShardsNeeded, ex.IsTransient), Is.EqualTo(((Cid?)manifest.Cid, (int?)1, (int?)manifest.DataShards, true)));
    }

    [Test]
    public async Task Wrong_key_fails_authentication_and_releases_nothing()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Small);
        var (manifest, shards) = await Encode(data, ContentKey.Generate(), Options());
        var output = new MemoryStream();
        Assert.ThrowsAsync<IntegrityException>(() => new FileDecoder(manifest, ContentKey.Generate(), shards, Options()).DecodeToAsync(output));
        Assert.That(output.Length, Is.Zero);
    }

    private static Manifest Resign(Manifest manifest, Action<ManifestBody> change)
    {
        var body = ManifestBody.Parser.ParseFrom(SignedManifest.Parser.ParseFrom(manifest.Bytes.Span).Body);
        change(body);
        return Manifest.Sign(body, Owner.Value);
    }

    [Test]
    public async Task Reordered_segments_fail_authentication_and_only_segments_before_them_are_released()
    {
        var data = RandomNumberGenerator.GetBytes(4 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        // Even a validly signed manifest cannot reorder segments: each one is sealed to its index.
        var swapped = Resign(manifest, b => (b.Segments[1], b.Segments[2]) = (b.Segments[2], b.Segments[1]));
        var swappedShards = new MemoryShards();
        foreach (var ((segment, shard), bytes) in shards.Shards)
        {
            swappedShards.Shards[(segment switch { 1 => 2, 2 => 1, _ => segment }, shard)] = bytes;
        }

        var output = new MemoryStream();
        Assert.ThrowsAsync<IntegrityException>(() => new FileDecoder(swapped, key, swappedShards, Options()).DecodeToAsync(output));
        Assert.That(output.ToArray(), Is.EqualTo(data[..Small]));
    }

    [Test]
    public async Task Truncated_file_fails_authentication_at_its_new_last_segment()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        var truncated = Resign(manifest, b =>
        {
            b.PlaintextSize = 2 * Small;
            b.Segments.RemoveAt(2);
        });
        var output = new MemoryStream();
        Assert.ThrowsAsync<IntegrityException>(() => new FileDecoder(truncated, key, shards, Options()).DecodeToAsync(output));
        Assert.That(output.ToArray(), Is.EqualTo(data[..Small]));
    }

    [Test]
    public async Task Duplicated_segment_fails_authentication()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        var duplicated = Resign(manifest, b => b.Segments[1] = b.Segments[0].Clone());
        var copy = new MemoryShards();
        foreach (var ((segment, shard), bytes) in shards.Shards)
        {
            copy.Shards[(segment, shard)] = segment == 1 ? shards.Shards[(0, shard)] : bytes;
        }

        Assert.ThrowsAsync<IntegrityException>(() => Decode(duplicated, key, copy, Options()));
    }

    [Test]
    public async Task Segment_spliced_from_another_file_under_the_same_key_fails_authentication()
    {
        var key = ContentKey.Generate();
        var (a, shardsA) = await Encode(RandomNumberGenerator.GetBytes(2 * Small), key, Options());
        var (b, shardsB) = await Encode(RandomNumberGenerator.GetBytes(2 * Small), key, Options());
        var spliced = Resign(a, body => body.Segments[1] = ManifestBody.Parser.ParseFrom(SignedManifest.Parser.ParseFrom(b.Bytes.Span).Body).Segments[1]);
        foreach (var shard in Enumerable.Range(0, 15))
        {
            shardsA.Shards[(1, shard)] = shardsB.Shards[(1, shard)];
        }

        Assert.ThrowsAsync<IntegrityException>(() => Decode(spliced, key, shardsA, Options()));
    }

    [Test]
    public async Task Shard_from_a_lying_source_is_skipped_not_used()
    {
        var data = RandomNumberGenerator.GetBytes(2 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        var liar = new LyingSource(shards);
        Assert.That(await Decode(manifest, key, liar, Options()), Is.EqualTo(data));
        Assert.That(liar.Lies, Is.GreaterThan(0));
    }

    [Test]
    public async Task Decoded_stream_reads_synchronously_and_reports_its_length()
    {
        var data = RandomNumberGenerator.GetBytes((3 * Small) + 9);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        using var stream = new FileDecoder(manifest, key, shards, Options()).OpenRead();
        Assert.That(stream.Length, Is.EqualTo(data.Length));
        Assert.That(stream.CanSeek, Is.False);
        var output = new MemoryStream();
        stream.CopyTo(output, 1000);
        Assert.That(output.ToArray(), Is.EqualTo(data));
        Assert.That(stream.Read(new byte[10]), Is.Zero);
    }

    [Test]
    public async Task Every_read_after_a_failed_segment_fails_again()
    {
        var data = RandomNumberGenerator.GetBytes(3 * Small);
        var (manifest, shards) = await Encode(data, ContentKey.Generate(), Options());
        await using var stream = new FileDecoder(manifest, ContentKey.Generate(), shards, Options()).OpenRead();
        Assert.ThrowsAsync<IntegrityException>(async () => await stream.ReadExactlyAsync(new byte[100]));
        Assert.ThrowsAsync<IntegrityException>(async () => await stream.ReadExactlyAsync(new byte[100]));
    }

    [Test]
    public async Task Disposing_a_stream_mid_file_stops_decoding()
    {
        var data = RandomNumberGenerator.GetBytes(20 * Small);
        var key = ContentKey.Generate();
        var (manifest, shards) = await Encode(data, key, Options());
        var stream = new FileDecoder(manifest, key, shards, Options()).OpenRead();
        var first = new byte[Small + 10];
        await stream.ReadExactlyAsync(first);
        Assert.That(first, Is.EqualTo(data[..(Small + 10)]));
        await stream.DisposeAsync();
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[1]));
    }

    [TestCase(1)]
    [TestCase(3)]
    public void Input_that_fails_mid_file_fails_the_encode(int inFlight)
    {
        var failing = new FailingStream(new PatternStream(10 * Small, 3), failAfter: 5 * Small);
        var ex = Assert.ThrowsAsync<IOException>(() => new FileEncoder(Options(inFlight: inFlight)).EncodeAsync(failing, ContentKey.Generate(), Owner.Value, new MemoryShards()));
        Assert.That(ex!.Message, Is.EqualTo("disk gone"));
    }

    [Test]
    public void Sink_that_fails_fails_the_encode()
    {
        var ex = Assert.ThrowsAsync<IOException>(() => new FileEncoder(Options()).EncodeAsync(
            new MemoryStream(new byte[6 * Small]), ContentKey.Generate(), Owner.Value, new FailingSink()));
        Assert.That(ex!.Message, Is.EqualTo("peer gone"));
    }

    private sealed class FailingSink : IShardSink
    {
        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken) =>
            segment.Index == 2 ? ValueTask.FromException(new IOException("peer gone")) : ValueTask.CompletedTask;
    }

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) =>
            inner.Position >= failAfter ? throw new IOException("disk gone") : inner.Read(buffer, offset, (int)Math.Min(count, failAfter - inner.Position));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Test]
    public void Encoder_rejects_bad_options_and_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileEncoder(new FileCodecOptions { SegmentSize = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileEncoder(new FileCodecOptions { ParityShards = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileEncoder(new FileCodecOptions { MaxSegmentsInFlight = 0 }));
        var encoder = new FileEncoder(Options());
        Assert.ThrowsAsync<ArgumentNullException>(() => encoder.EncodeAsync(null!, ContentKey.Generate(), Owner.Value, new MemoryShards()));
    }

    [Test]
    public void Encoder_refuses_shards_larger_than_a_frame_and_more_segments_than_a_manifest_holds()
    {
        // k = 1 and 8 MiB segments: 8 MiB shards, twice what one frame carries.
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileEncoder(new FileCodecOptions { SegmentSize = 8 * 1024 * 1024, DataShards = 1, ParityShards = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileEncoder(new FileCodecOptions { DataShards = 15, ParityShards = 6 }));

        // 4 KiB segments of 20 shards: a manifest lists at most MaxSegmentsFor(20); the encoder stops at the first one
        // too many instead of reading (and placing) the whole input first.
        int max = Manifest.MaxSegmentsFor(20);
        var encoder = new FileEncoder(new FileCodecOptions { SegmentSize = Manifest.MinSegmentSize, DataShards = 10, ParityShards = 10, MaxSegmentsInFlight = 2 });
        var sink = new CountingSink();
        var input = new MemoryStream(new byte[(max + 50) * (long)Manifest.MinSegmentSize]);
        var e = Assert.ThrowsAsync<ArgumentException>(() => encoder.EncodeAsync(input, ContentKey.Generate(), Owner.Value, sink));
        Assert.That(e!.Message, Does.Contain("larger than one manifest can describe"));
        Assert.That(sink.Segments, Is.LessThanOrEqualTo(max));
        Assert.That(input.Position, Is.LessThan(input.Length), "the rest of the input was never read");

        // The largest file that fits does: its manifest is within the bound.
        var fits = Manifest.MaxSegmentsFor(2);
        var manifest = new FileEncoder(new FileCodecOptions { SegmentSize = Manifest.MinSegmentSize, DataShards = 1, ParityShards = 1 })
            .EncodeAsync(new MemoryStream(new byte[fits * (long)Manifest.MinSegmentSize]), ContentKey.Generate(), Owner.Value, new CountingSink()).GetAwaiter().GetResult();
        Assert.That(manifest.SegmentCount, Is.EqualTo(fits));
        Assert.That(manifest.Bytes.Length, Is.LessThanOrEqualTo(Manifest.MaxBytes));
    }

    private sealed class CountingSink : IShardSink
    {
        public int Segments { get; private set; }

        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken)
        {
            Segments++;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Returns plausible garbage for every third data shard (right length, wrong bytes).</summary>
    private sealed class LyingSource(MemoryShards inner) : IShardSource
    {
        public int Lies { get; private set; }

        public async ValueTask<bool> ReadShardAsync(int segment, int shard, Sha256Hash hash, Memory<byte> destination, CancellationToken cancellationToken)
        {
            if (!await inner.ReadShardAsync(segment, shard, hash, destination, cancellationToken))
            {
                return false;
            }

            if (shard % 3 == 0)
            {
                lock (this)
                {
                    Lies++;
                }

                RandomNumberGenerator.Fill(destination.Span);
            }

            return true;
        }
    }
}
