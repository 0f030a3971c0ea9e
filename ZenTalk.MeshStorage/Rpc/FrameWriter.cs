using System.Buffers;
using System.Threading.Channels;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Writes frames to a stream from a bounded queue, one writer at a time. Small frames queued together are
/// coalesced into one write (one TLS record instead of one per frame); a full queue makes senders wait.
/// </summary>
internal sealed class FrameWriter
{
    private const int CoalesceSize = 64 * 1024;
    private readonly Stream _stream;
    private readonly int _maxFrameSize;
    private readonly Channel<Frame> _queue;

    public FrameWriter(Stream stream, int maxFrameSize, int queueCapacity)
    {
        _stream = stream;
        _maxFrameSize = maxFrameSize;
        _queue = Channel.CreateBounded<Frame>(new BoundedChannelOptions(queueCapacity)
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
    /// <exception cref="ArgumentException">The frame is larger than the maximum frame size.</exception>
    public ValueTask EnqueueAsync(Frame frame, CancellationToken cancellationToken)
    {
        int size = frame.CalculateSize();
        if (size > _maxFrameSize)
            throw new ArgumentException($"The message is {size} bytes; the maximum frame size is {_maxFrameSize}.", nameof(frame));
        return _queue.Writer.WriteAsync(frame, cancellationToken);
    }

    /// <summary>Queues a frame if there is room (used for best-effort cancel frames).</summary>
    public bool TryEnqueue(Frame frame) => _queue.Writer.TryWrite(frame);

    /// <summary>
    /// Called once for each queued frame whose bytes no longer need the frame: copied into the send buffer, or written
    /// (large frames). The server gives back the bytes the response held in its <see cref="ByteBudget"/>.
    /// </summary>
    public Action<Frame>? Written { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> when the write in progress started; 0 when none is. A watchdog
    /// reads it to drop peers that stop reading (their unread answers would otherwise be held forever).</summary>
    public long WriteStartedTicks => Volatile.Read(ref _writeStartedTicks);

    private long _writeStartedTicks;

    /// <summary>Hands every frame still queued to <paramref name="dropped"/> (after the connection closed, so none is written).</summary>
    public void DrainUnsent(Action<Frame> dropped)
    {
        while (_queue.Reader.TryRead(out var frame)) dropped(frame);
    }

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
                int used = 0;
                while (reader.TryRead(out var frame))
                {
                    int total = WireSize(frame, out int body);
                    if (used + total > buf.Length && used > 0)
                    {
                        await WriteAsync(buf.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                        used = 0;
                    }
                    if (total > buf.Length && LargeShardFrames.TrySplit(frame, out var head, out var data, out var tail))
                    {
                        // Shard bytes go from the store's buffer to TLS without a serialization copy.
                        await WriteAsync(head, cancellationToken).ConfigureAwait(false);
                        await WriteAsync(data, cancellationToken).ConfigureAwait(false);
                        if (tail.Length > 0) await WriteAsync(tail, cancellationToken).ConfigureAwait(false);
                        Written?.Invoke(frame);
                        continue;
                    }
                    if (total > buf.Length)
                    {
                        byte[] big = ArrayPool<byte>.Shared.Rent(total);
                        try
                        {
                            int n = Serialize(frame, body, big);
                            await WriteAsync(big.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(big);
                        }
                        Written?.Invoke(frame);
                        continue;
                    }
                    used += Serialize(frame, body, buf.AsSpan(used));
                    Written?.Invoke(frame);
                }
                if (used > 0)
                    await WriteAsync(buf.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
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
