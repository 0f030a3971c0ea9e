using System.Buffers;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Reads frames (varint length + protobuf <see cref="Frame"/>) from a stream. A length prefix longer than
/// 5 bytes or larger than the maximum frame size is refused as soon as it is seen, before any allocation, and
/// a stream that ends inside a frame is reported as truncated. With a <see cref="Budget"/>, a frame's bytes are
/// taken from it once its length is known and before its body is read: a peer whose frame does not fit waits,
/// unread, in its socket.
/// </summary>
internal sealed class FrameReader : IDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start, _end;
    private long _frameStartedTicks;
    private long _reserved;
    private int _waitingForBudget;

    public FrameReader(Stream stream, int maxFrameSize)
    {
        _stream = stream;
        MaxFrameSize = maxFrameSize;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    /// <summary>The largest frame accepted (bytes after the prefix); the handshake lowers it to
    /// <see cref="RpcOptions.MaxHandshakeFrameSize"/> until the version exchange is over.</summary>
    public int MaxFrameSize { get; set; }

    /// <summary>
    /// The budget every frame's bytes (prefix included) are taken from before its body is read, or null. The bytes
    /// of the frame last returned belong to the caller (<see cref="TakeReserved"/>); a read that fails gives its
    /// own back.
    /// </summary>
    public ByteBudget? Budget { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> when the first byte of the frame being read arrived; 0 between frames
    /// and while the reader waits for <see cref="Budget"/> (that wait is this node's, not the peer's slowness).
    /// A watchdog reads it to drop peers that start a frame and never finish it.</summary>
    public long FrameStartedTicks => Volatile.Read(ref _frameStartedTicks);

    /// <summary>Whether the reader is waiting for <see cref="Budget"/> to hold the next frame (the connection is then not idle).</summary>
    public bool WaitingForBudget => Volatile.Read(ref _waitingForBudget) != 0;

    /// <summary>The budget bytes the last frame read holds; the caller releases them to <see cref="Budget"/>.</summary>
    public long TakeReserved()
    {
        long reserved = _reserved;
        _reserved = 0;
        return reserved;
    }

    /// <summary>Reads the next frame; returns null when the peer closed the stream cleanly between frames.</summary>
    /// <exception cref="ProtocolException">The bytes are not a valid frame.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken) =>
        await ReadAsync(null, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reads the next frame; a large GET_SHARD response whose request has a destination buffer
    /// (<paramref name="destinationFor"/>) is read straight into that buffer, and the parsed shard aliases it.
    /// </summary>
    public async ValueTask<Frame?> ReadAsync(Func<ulong, Memory<byte>?>? destinationFor, CancellationToken cancellationToken)
    {
        _lease = null; // not taken by the caller: dropped, never returned to the pool while a frame may alias it
        if (Budget is { } budget) budget.Release(TakeReserved()); // not taken by the caller: given back
        if (_start == _end && !await FillAsync(0, cancellationToken).ConfigureAwait(false))
            return null;
        Volatile.Write(ref _frameStartedTicks, Math.Max(1, Environment.TickCount64));

        ulong length = 0;
        int shift = 0, prefix = 0;
        while (true)
        {
            if (_start == _end && !await FillAsync(0, cancellationToken).ConfigureAwait(false))
                throw new ProtocolException("The peer closed the connection inside a frame's length prefix.");
            byte b = _buffer[_start++];
            prefix++;
            length |= (ulong)(b & 0x7F) << shift;
            if (length > (ulong)MaxFrameSize)
                throw new ProtocolException($"The peer announced a frame larger than the {MaxFrameSize}-byte maximum.");
            if ((b & 0x80) == 0) break;
            shift += 7;
            if (shift >= 35)
                throw new ProtocolException("The peer sent a frame length prefix longer than 5 bytes.");
        }
        if (length == 0)
            throw new ProtocolException("The peer sent an empty frame.");

        int len = (int)length;
        if (Budget is not null)
        {
            // Memory is charged before the body is read: a frame that does not fit waits in the socket (TCP pushes
            // back on the peer), so a thousand peers each sending one maximum frame cannot sit outside the budget.
            Volatile.Write(ref _frameStartedTicks, 0);
            Volatile.Write(ref _waitingForBudget, 1);
            try
            {
                _reserved = await Budget.AcquireAsync(prefix + len, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _waitingForBudget, 0);
            }
            Volatile.Write(ref _frameStartedTicks, Math.Max(1, Environment.TickCount64));
        }

        try
        {
            var frame = await ReadBodyAsync(len, destinationFor, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _frameStartedTicks, 0);
            return frame;
        }
        catch
        {
            Budget?.Release(TakeReserved());
            throw;
        }
    }

    private async ValueTask<Frame> ReadBodyAsync(int len, Func<ulong, Memory<byte>?>? destinationFor, CancellationToken cancellationToken)
    {
        Frame frame;
        if (len <= _buffer.Length)
        {
            if (_end - _start < len)
            {
                Compact();
                while (_end - _start < len)
                {
                    if (!await FillAsync(len - (_end - _start), cancellationToken).ConfigureAwait(false))
                        throw new ProtocolException($"The peer closed the connection inside a {len}-byte frame (truncated).");
                }
            }
            var body = _buffer.AsSpan(_start, len);
            _start += len; // consumed even when refused: the next frame starts after it
            frame = Parse(body);
        }
        else if (destinationFor is not null && await TryReadIntoDestinationAsync(len, destinationFor, cancellationToken).ConfigureAwait(false) is { } direct)
        {
            frame = direct;
        }
        else
        {
            // A large frame (a shard) is read into a pooled array that grows with the bytes that really arrive (x4
            // steps: at most 4 times what was received): a peer that announces a maximum-size frame and then trickles
            // bytes must not make this node hold the whole frame's memory for the read timeout. The parsed message
            // copies what it keeps (protobuf copies bytes fields), so the array goes back to the pool right away —
            // except for a GET_SHARD response, whose parsed shard aliases it (then it is simply not returned).
            int have = _end - _start;
            byte[] big = ArrayPool<byte>.Shared.Rent(Math.Min(len, Math.Max(have, LargeFrameFirstChunk)));
            bool pooled = true;
            try
            {
                Buffer.BlockCopy(_buffer, _start, big, 0, have);
                _start = _end = 0;
                while (have < len)
                {
                    int room = Math.Min(big.Length, len);
                    if (have == room)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(len, 4L * room));
                        Buffer.BlockCopy(big, 0, grown, 0, have);
                        ArrayPool<byte>.Shared.Return(big);
                        big = grown;
                        room = Math.Min(big.Length, len);
                    }

                    // Never past this frame: the rented array may be longer, and the next frame's bytes are not ours.
                    int n = await _stream.ReadAsync(big.AsMemory(have, room - have), cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                        throw new ProtocolException($"The peer closed the connection inside a {len}-byte frame (truncated).");
                    have += n;
                }

                CheckShape(big.AsSpan(0, len));
                if (LargeShardFrames.TryParse(big, len) is { } response)
                {
                    pooled = false;
                    frame = response;
                }
                else if (LargeShardFrames.TryParsePutShard(big, len) is { } put)
                {
                    // The request's shard aliases the array until the server has handled it (TakeLease).
                    pooled = false;
                    _lease = big;
                    frame = put;
                }
                else
                {
                    frame = Parse(big.AsSpan(0, len), checkedShape: true);
                }
            }
            finally
            {
                if (pooled) ArrayPool<byte>.Shared.Return(big);
            }
        }
        return frame;
    }

    private byte[]? _lease;

    /// <summary>
    /// The pooled array the last frame read aliases (a PUT_SHARD request's shard), or null. The caller that takes it
    /// returns it to <see cref="ArrayPool{T}.Shared"/> once nothing reads the frame any more; a lease nobody takes
    /// is simply left to the garbage collector.
    /// </summary>
    public byte[]? TakeLease()
    {
        var lease = _lease;
        _lease = null;
        return lease;
    }

    private const int HeadBytes = 512;

    /// <summary>First allocation for a frame larger than the read buffer; grown as its bytes arrive.</summary>
    internal const int LargeFrameFirstChunk = 64 * 1024;

    private async ValueTask<Frame?> TryReadIntoDestinationAsync(int len, Func<ulong, Memory<byte>?> destinationFor, CancellationToken cancellationToken)
    {
        Compact();
        while (_end - _start < HeadBytes)
        {
            if (!await FillAsync(HeadBytes - (_end - _start), cancellationToken).ConfigureAwait(false))
                throw new ProtocolException($"The peer closed the connection inside a {len}-byte frame (truncated).");
        }
        if (!LargeShardFrames.TryParseHead(_buffer.AsSpan(_start, HeadBytes), len, out var head)
            || destinationFor(head.RequestId) is not { } destination || destination.Length < head.DataLength)
            return null;

        _start += head.DataOffset;
        int have = Math.Min(_end - _start, head.DataLength);
        _buffer.AsSpan(_start, have).CopyTo(destination.Span);
        _start += have;
        while (have < head.DataLength)
        {
            int n = await _stream.ReadAsync(destination[have..head.DataLength], cancellationToken).ConfigureAwait(false);
            if (n == 0)
                throw new ProtocolException($"The peer closed the connection inside a {len}-byte frame (truncated).");
            have += n;
        }
        int tailLength = len - head.DataOffset - head.DataLength;
        if (tailLength > _buffer.Length)
            throw new ProtocolException("The peer sent a GET_SHARD response with too many bytes after the shard.");
        if (_end - _start < tailLength)
        {
            Compact();
            while (_end - _start < tailLength)
            {
                if (!await FillAsync(tailLength - (_end - _start), cancellationToken).ConfigureAwait(false))
                    throw new ProtocolException($"The peer closed the connection inside a {len}-byte frame (truncated).");
            }
        }
        ulong total = LargeShardFrames.ParseTail(_buffer.AsSpan(_start, tailLength));
        _start += tailLength;
        return new Frame
        {
            RequestId = head.RequestId,
            Response = new Response
            {
                Status = head.Status,
                GetShard = new GetShardResponse { Data = UnsafeByteOperations.UnsafeWrap(destination[..head.DataLength]), TotalSize = total },
            },
        };
    }

    /// <summary>Unknown fields are dropped while parsing: they would ride along in every message kept (a peer's Hello,
    /// a stored record) and in everything re-sent from it.</summary>
    internal static readonly Google.Protobuf.MessageParser<Frame> FrameParser = Frame.Parser.WithDiscardUnknownFields(true);

    /// <summary>Refuses a frame over the repeated-field caps (<see cref="FrameShape"/>) before protobuf builds it.</summary>
    /// <exception cref="RefusedRequestException">A request over the caps: answer it and go on.</exception>
    /// <exception cref="ProtocolException">Any other frame over the caps, or bytes that are not a frame.</exception>
    private static void CheckShape(ReadOnlySpan<byte> bytes)
    {
        var shape = FrameShape.Check(bytes);
        if (shape.Refusal is null) return;
        if (shape.IsRequest && shape.RequestId != 0) throw new RefusedRequestException(shape.RequestId, shape.Refusal);
        throw new ProtocolException("The peer sent an oversized frame: " + shape.Refusal);
    }

    private static Frame Parse(ReadOnlySpan<byte> bytes, bool checkedShape = false)
    {
        if (!checkedShape) CheckShape(bytes);
        try
        {
            return FrameParser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ProtocolException($"The peer sent a frame that is not a valid protobuf message: {ex.Message}", ex);
        }
    }

    private void Compact()
    {
        if (_start == 0) return;
        int have = _end - _start;
        Buffer.BlockCopy(_buffer, _start, _buffer, 0, have);
        _start = 0;
        _end = have;
    }

    /// <summary>
    /// Bytes a read asks for beyond those the frame being read still needs. Small frames that arrive together still come
    /// in a few reads, and of a large frame (a shard) only its start passes through the buffer: the stream (TLS) keeps
    /// the rest of its record, and a GET_SHARD answer's shard is then read from there straight into the caller's
    /// buffer, or a PUT_SHARD's into its own array, rather than copied twice.
    /// </summary>
    internal const int ReadAhead = 2048;

    /// <summary>Reads what the stream has, at most <paramref name="needed"/> + <see cref="ReadAhead"/> bytes; false at its end.</summary>
    private async ValueTask<bool> FillAsync(int needed, CancellationToken cancellationToken)
    {
        if (_start == _end) _start = _end = 0;
        else if (_end == _buffer.Length) Compact();
        int n = await _stream.ReadAsync(_buffer.AsMemory(_end, Math.Min(_buffer.Length - _end, needed + ReadAhead)), cancellationToken).ConfigureAwait(false);
        _end += n;
        return n > 0;
    }

    public void Dispose()
    {
        Budget?.Release(TakeReserved());
        var b = Interlocked.Exchange(ref _buffer, []);
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}

/// <summary>
/// A request the reader refused without parsing it (a repeated field over <see cref="FrameShape.MaxRepeatedEntries"/>):
/// its bytes were consumed, so the connection stays in step; the server answers INVALID_ARGUMENT and reads on.
/// </summary>
internal sealed class RefusedRequestException(ulong requestId, string message) : ProtocolException(message)
{
    /// <summary>The refused request's id.</summary>
    public ulong RequestId { get; } = requestId;
}
