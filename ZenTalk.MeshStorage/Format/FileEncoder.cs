using System.Buffers;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;
using ZenTalk.MeshStorage.Format.Proto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// Turns a plaintext stream into shards and a signed manifest: read a segment → AES-256-GCM (in place) →
/// Reed-Solomon k + m → SHA-256 of every shard → sink; at the end, the manifest and its CID. Up to
/// <see cref="FileCodecOptions.MaxSegmentsInFlight"/> segments are encrypted, coded and hashed in parallel while
/// the next one is read, so memory stays a few segments whatever the file size. Thread-safe; stateless between calls.
/// </summary>
internal sealed class FileEncoder
{
    private readonly FileCodecOptions _options;
    private readonly ReedSolomon _codec;

    public FileEncoder(FileCodecOptions? options = null)
    {
        _options = options ?? new FileCodecOptions();
        _options.Validate();
        _codec = new ReedSolomon(_options.DataShards, _options.ParityShards);
    }

    public FileCodecOptions Options => _options;

    /// <summary>Encodes <paramref name="input"/> (read to its end) under <paramref name="key"/>, signed by <paramref name="owner"/>.</summary>
    /// <returns>The signed manifest; its <see cref="Manifest.Cid"/> names the file.</returns>
    public async Task<Manifest> EncodeAsync(Stream input, ContentKey key, OwnerKey owner, IShardSink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(sink);
        if (!input.CanRead)
        {
            throw new ArgumentException("The input stream is not readable.", nameof(input));
        }

        var salt = SegmentCipher.NewSalt();
        var segmentSize = _options.SegmentSize;
        var k = _options.DataShards;
        var n = k + _options.ParityShards;
        var slotBytes = Manifest.SegmentBufferSizeFor(segmentSize, k, n);
        var maxSegments = Manifest.MaxSegmentsFor(n);
        var created = new List<Slot>();
        var free = new Stack<Slot>();
        var inFlight = new Queue<(Slot Slot, Task Work)>();
        var segments = new List<SegmentEntry>();
        long plaintextSize = 0;

        Slot Rent()
        {
            if (free.TryPop(out var slot))
            {
                return slot;
            }

            slot = new Slot(slotBytes, new SegmentCipher(key, salt), n);
            created.Add(slot);
            return slot;
        }

        async Task DrainOneAsync()
        {
            var (slot, work) = inFlight.Dequeue();
            await work.ConfigureAwait(false);
            await sink.WriteSegmentAsync(new EncodedSegment(slot.Index, slot.ShardSize, slot.Shards, slot.Hashes, slot.Last, slot.TakeBuffer), cancellationToken).ConfigureAwait(false);
            slot.EndHandOver();
            var hashes = new byte[n * Sha256Hash.Size];
            for (var j = 0; j < n; j++)
            {
                slot.Hashes[j].CopyTo(hashes.AsSpan(j * Sha256Hash.Size));
            }

            segments.Add(new SegmentEntry { ShardSize = (uint)slot.ShardSize, ShardHashes = UnsafeByteOperations.UnsafeWrap(hashes) });
            free.Push(slot);
        }

        try
        {
            var pending = Rent();
            var pendingLength = await ReadSegmentAsync(input, pending.Buffer, segmentSize, cancellationToken).ConfigureAwait(false);
            var index = 0;
            while (true)
            {
                plaintextSize += pendingLength;
                Slot? next = null;
                var nextLength = 0;
                // A full segment may or may not be the last: read ahead one segment to know which flag to seal with.
                if (pendingLength == segmentSize)
                {
                    next = Rent();
                    nextLength = await ReadSegmentAsync(input, next.Buffer, segmentSize, cancellationToken).ConfigureAwait(false);
                }

                var last = nextLength == 0;
                if (last && next is not null)
                {
                    free.Push(next);
                }

                if (index >= maxSegments)
                {
                    // Fail at the first segment too many, not after the whole stream went out: the manifest could not list it.
                    throw new ArgumentException(
                        $"The input is larger than one manifest can describe at {segmentSize}-byte segments (at most {maxSegments} segments); use a larger segment size.", nameof(input));
                }

                var slot = pending;
                slot.Prepare(index++, pendingLength, last, k);
                // One segment at a time runs on this thread: a hop to the pool would only cost a cache migration.
                inFlight.Enqueue((slot, _options.MaxSegmentsInFlight == 1 ? ProcessInline(slot, cancellationToken) : Task.Run(() => Process(slot), cancellationToken)));
                while (inFlight.Count >= _options.MaxSegmentsInFlight || (last && inFlight.Count > 0))
                {
                    await DrainOneAsync().ConfigureAwait(false);
                }

                if (last)
                {
                    break;
                }

                pending = next!;
                pendingLength = nextLength;
            }
        }
        finally
        {
            // On failure, let running work finish before its buffers go back to the pool.
            while (inFlight.TryDequeue(out var item))
            {
                try
                {
                    await item.Work.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The first error is already propagating.
                }
            }

            foreach (var slot in created)
            {
                slot.Cipher.Dispose();
                // Cleared: after a failure a buffer may still hold plaintext that was read but not yet encrypted. Only
                // the bytes a slot uses: the pool rounds the request up, and clearing the rest would touch pages that
                // were never written.
                slot.Buffer.AsSpan(0, slotBytes).Clear();
                ArrayPool<byte>.Shared.Return(slot.Buffer);
            }
        }

        var body = new ManifestBody
        {
            FormatVersion = Manifest.FormatVersion,
            PlaintextSize = (ulong)plaintextSize,
            SegmentSize = (uint)segmentSize,
            DataShards = (uint)k,
            ParityShards = (uint)_options.ParityShards,
            Cipher = new CipherParameters
            {
                Algorithm = Manifest.CipherAlgorithmAesGcmHkdf,
                Salt = ByteString.CopyFrom(salt),
                TagSize = SegmentCipher.TagSize,
            },
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            CreatedUnixMs = _options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            ExpiresUnixMs = _options.ExpiresAt?.ToUnixTimeMilliseconds() ?? 0,
        };
        body.Segments.AddRange(segments);
        return Manifest.Sign(body, owner);
    }

    private static async ValueTask<int> ReadSegmentAsync(Stream input, byte[] buffer, int segmentSize, CancellationToken cancellationToken) =>
        await input.ReadAtLeastAsync(buffer.AsMemory(0, segmentSize), segmentSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    private Task ProcessInline(Slot slot, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Process(slot);
        return Task.CompletedTask;
    }

    /// <summary>The CPU work of one segment: encrypt in place, zero-pad, compute parity, hash every shard.</summary>
    private void Process(Slot slot)
    {
        var buffer = slot.Buffer.AsSpan();
        var length = slot.PlaintextLength;
        slot.Cipher.Encrypt(slot.Index, slot.Last, buffer[..length], buffer[..(length + SegmentCipher.TagSize)]);
        buffer[(length + SegmentCipher.TagSize)..(slot.ShardSize * _options.DataShards)].Clear();
        _codec.Encode(slot.WritableShards);
        for (var j = 0; j < slot.Hashes.Length; j++)
        {
            slot.Hashes[j] = Sha256Hash.Compute(slot.Shards[j].Span);
        }
    }

    /// <summary>One segment's worth of pooled buffer, cipher and results.</summary>
    private sealed class Slot
    {
        private readonly int _bufferSize;
        private bool _handingOver;

        public Slot(int bufferSize, SegmentCipher cipher, int totalShards)
        {
            _bufferSize = bufferSize;
            Buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
            Cipher = cipher;
            WritableShards = new Memory<byte>[totalShards];
            Shards = new ReadOnlyMemory<byte>[totalShards];
            Hashes = new Sha256Hash[totalShards];
            TakeBuffer = Take;
        }

        public byte[] Buffer { get; private set; }

        /// <summary>The sink's way to keep this segment's buffer (<see cref="EncodedSegment.TakeBuffer"/>).</summary>
        public Func<byte[]> TakeBuffer { get; }

        public SegmentCipher Cipher { get; }

        public Memory<byte>[] WritableShards { get; }

        public ReadOnlyMemory<byte>[] Shards { get; }

        public Sha256Hash[] Hashes { get; }


        public int Index { get; private set; }

        public int PlaintextLength { get; private set; }

        public bool Last { get; private set; }

        public int ShardSize { get; private set; }

        public void Prepare(int index, int plaintextLength, bool last, int dataShards)
        {
            _handingOver = true;
            Index = index;
            PlaintextLength = plaintextLength;
            Last = last;
            ShardSize = Manifest.ShardSizeFor(plaintextLength, dataShards);
            for (var j = 0; j < WritableShards.Length; j++)
            {
                WritableShards[j] = Buffer.AsMemory(j * ShardSize, ShardSize);
                Shards[j] = WritableShards[j];
            }
        }

        /// <summary>The sink's call has returned: the segment's buffer can no longer be taken.</summary>
        public void EndHandOver() => _handingOver = false;

        private byte[] Take()
        {
            if (!_handingOver)
            {
                throw new InvalidOperationException("A segment's buffer can be taken once, during the sink's call.");
            }

            _handingOver = false;
            var taken = Buffer;
            Buffer = ArrayPool<byte>.Shared.Rent(_bufferSize);
            return taken;
        }
    }
}
