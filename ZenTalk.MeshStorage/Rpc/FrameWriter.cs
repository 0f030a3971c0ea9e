using System.Buffers;
using System.Threading.Channels;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Writes frames to a stream from a bounded queue, one writer at a time. Small frames queued together are
/// coalesced into one write (one TLS record instead of one per frame); a full queue makes senders wait. With a
/// <see cref="RecordCoalescingStream"/> under the TLS stream, each batch is corked, so the TLS records of a batch (a
/// shard's seven, or many frames') leave in as few sends as fit.
/// </summary>
internal sealed class FrameWriter
{
    private const int CoalesceSize = 64 * 1024;

    // The most plaintext one TLS record carries (RFC 8446 §5.1): SslStream cuts every write into records of this size.
    private const int TlsRecordSize = 16 * 1024;
    private readonly Stream _stream;
    private readonly int _maxFrameSize;
    private readonly Channel<Queued> _queue;
    private readonly RecordCoalescingStream? _records;

    /// <param name="stream">The stream frames are written to (the connection's TLS stream).</param>
    /// <param name="maxFrameSize">The largest frame body accepted.</param>
    /// <param name="queueCapacity">Frames queued before senders wait.</param>
    /// <param name="records">The stream under <paramref name="stream"/> that gathers a batch's TLS records, or null.</param>
    public FrameWriter(Stream stream, int maxFrameSize, int queueCapacity, RecordCoalescingStream? records = null)
    {
        _stream = stream;
        _records = records;
        _maxFrameSize = maxFrameSize;
        _queue = Channel.CreateBounded<Queued>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Bytes a frame takes on the wire, prefix included.</summary>
    public static int WireSize(Frame frame, out int bodySize)
    {
        bodySize = frame.CalculateSize();
        return CodedOutputStream.ComputeUInt32Size((uint)bodySize) + bodySize;
    }

    /// <summary>Writes one frame directly (handshake only, before <see cref="RunAsync"/> starts).</summary>
    public async ValueTask WriteDirectAsync(Frame frame, CancellationToken cancellationToken)
    {
        int total = WireSize(frame, out int body);
        byte[] buf = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            int n = Serialize(frame, body, buf);
            await _stream.WriteAsync(buf.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    /// <summary>Queues a frame; waits while the queue is full.</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="cancellationToken">Stops waiting for room.</param>
    /// <param name="cost">Budget bytes the frame holds until written, handed to <see cref="Written"/> (0 for none).</param>
    /// <exception cref="ArgumentException">The frame is larger than the maximum frame size.</exception>
    public ValueTask EnqueueAsync(Frame frame, CancellationToken cancellationToken, long cost = 0)
    {
        CheckSize(frame);
        return _queue.Writer.WriteAsync(new Queued(frame, cost), cancellationToken);
    }

    /// <summary>Queues a frame if there is room now: false when the queue is full or the writer is complete.</summary>
    /// <exception cref="ArgumentException">The frame is larger than the maximum frame size.</exception>
    public bool TryEnqueue(Frame frame)
    {
        CheckSize(frame);
        return _queue.Writer.TryWrite(new Queued(frame, 0));
    }

    private void CheckSize(Frame frame)
    {
        int size = frame.CalculateSize();
        if (size > _maxFrameSize)
            throw new ArgumentException($"The message is {size} bytes; the maximum frame size is {_maxFrameSize}.", nameof(frame));
    }

    /// <summary>
    /// Called once for each queued frame as soon as nothing reads the frame's objects any more (its bytes are copied
    /// into a send buffer, or written when they go straight from the frame): pooled arrays it aliases can go back.
    /// </summary>
    public Action<Frame>? Released { get; set; }

    /// <summary>
    /// Called once for each queued frame, with the cost it was queued with, once its bytes no longer take this
    /// process's memory beyond the writer's fixed buffer: the server gives them back to its <see cref="ByteBudget"/>.
    /// </summary>
    public Action<long>? Written { get; set; }

    private readonly record struct Queued(Frame Frame, long Cost);

    /// <summary><see cref="Environment.TickCount64"/> when the write in progress started; 0 when none is. A watchdog
    /// reads it to drop peers that stop reading (their unread answers would otherwise be held forever).</summary>
    public long WriteStartedTicks => Volatile.Read(ref _writeStartedTicks);

    private long _writeStartedTicks;

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _writeStartedTicks, Math.Max(1, Environment.TickCount64));
        try
        {
            await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _writeStartedTicks, 0);
        }
    }

    /// <summary>Ends a batch: what a corked batch gathered is sent here, so the watchdog watches this as a write.</summary>
    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _writeStartedTicks, Math.Max(1, Environment.TickCount64));
        try
        {
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _writeStartedTicks, 0);
        }
    }

    /// <summary>Stops accepting frames.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>The write loop; ends when <see cref="Complete"/> is called or the stream fails.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        byte[] buf = ArrayPool<byte>.Shared.Rent(CoalesceSize);
        try
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _records?.Cork();
                int used = 0;
                while (reader.TryRead(out var queued))
                {
                    var frame = queued.Frame;
                    int total = WireSize(frame, out int body);
                    if (used + total > buf.Length && used > 0)
                    {
                        await WriteAsync(buf.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                        used = 0;
                    }
                    if (total > buf.Length && LargeShardFrames.TrySplit(frame, out var head, out var data, out var tail))
                    {
                        // Shard bytes go from the sender's buffer to TLS without a serialization copy. Only the envelope
                        // with the start of the shard that completes its TLS record, and the shard's last part-full record
                        // with the bytes after it, pass through the coalescing buffer: the shard goes out in whole
                        // records, and what follows it waits there for the next frames. (`used` is 0: a frame larger
                        // than the buffer flushed what was coalesced before it.)
                        int fill = Math.Min(data.Length, (TlsRecordSize - (head.Length % TlsRecordSize)) % TlsRecordSize);
                        int last = (data.Length - fill) % TlsRecordSize;
                        if (head.Length + fill <= buf.Length && last + tail.Length <= buf.Length)
                        {
                            head.CopyTo(buf.AsSpan());
                            data.Span[..fill].CopyTo(buf.AsSpan(head.Length));
                            await WriteAsync(buf.AsMemory(0, head.Length + fill), cancellationToken).ConfigureAwait(false);
                            if (data.Length - fill - last > 0)
                                await WriteAsync(data[fill..^last], cancellationToken).ConfigureAwait(false);
                            data.Span[^last..].CopyTo(buf.AsSpan());
                            tail.CopyTo(buf.AsSpan(last));
                            used = last + tail.Length;
                        }
                        else
                        {
                            await WriteAsync(head, cancellationToken).ConfigureAwait(false);
                            await WriteAsync(data, cancellationToken).ConfigureAwait(false);
                            if (tail.Length > 0) await WriteAsync(tail, cancellationToken).ConfigureAwait(false);
                        }
                        Released?.Invoke(frame);
                        Written?.Invoke(queued.Cost);
                        continue;
                    }
                    if (total > buf.Length)
                    {
                        byte[] big = ArrayPool<byte>.Shared.Rent(total);
                        try
                        {
                            int n = Serialize(frame, body, big);
                            // From here the copy stands for the frame (and holds its budget): the frame's own objects are
                            // not kept alive while a slow peer reads, or the answer would take twice its counted memory.
                            Released?.Invoke(frame);
                            frame = null;
                            queued = new Queued(null!, queued.Cost);
                            await WriteAsync(big.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(big);
                        }
                        Written?.Invoke(queued.Cost);
                        continue;
                    }
                    used += Serialize(frame, body, buf.AsSpan(used));
                    Released?.Invoke(frame);
                    Written?.Invoke(queued.Cost);
                }
                if (used > 0)
                    await WriteAsync(buf.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private static int Serialize(Frame frame, int bodySize, Span<byte> destination)
    {
        int prefix = WriteVarint((uint)bodySize, destination);
        frame.WriteTo(destination.Slice(prefix, bodySize));
        return prefix + bodySize;
    }

    internal static int WriteVarint(uint value, Span<byte> destination)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }
}
