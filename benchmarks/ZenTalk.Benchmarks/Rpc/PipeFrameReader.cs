using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Rpc;

/// <summary>
/// <see cref="FrameReader"/> rebuilt on <see cref="PipeReader"/> (System.IO.Pipelines, as Kestrel, StackExchange.Redis
/// and Garnet read), with the same limits, for <see cref="FrameReading"/> to measure against it: the prefix refused as
/// soon as it is seen, the budget charged before the body is read, a large frame's array grown with the bytes that
/// really arrive, a parsed PUT_SHARD that aliases its array (<see cref="TakeLease"/>), and a GET_SHARD response copied
/// into a caller's buffer. The pipe owns the read buffers, so every byte of a large frame is copied once more than
/// in <see cref="FrameReader"/>, which reads it from the stream straight into the frame's array.
/// </summary>
internal sealed class PipeFrameReader : IDisposable
{
    private const int HeadBytes = 512;
    private const int SegmentSize = 64 * 1024;
    private readonly PipeReader _reader;
    private readonly Stream _stream;
    private readonly bool _largeFromStream;
    private long _reserved;
    private byte[]? _lease;

    /// <param name="stream">The stream to read.</param>
    /// <param name="maxFrameSize">The largest frame accepted.</param>
    /// <param name="largeFramesFromStream">Read the bytes of a frame larger than a pipe segment that are not buffered yet
    /// from the stream straight into the frame's array, past the pipe (which reads only inside its ReadAsync), saving
    /// the copy out of the pipe's segments.</param>
    public PipeFrameReader(Stream stream, int maxFrameSize, bool largeFramesFromStream = false)
    {
        _stream = stream;
        _largeFromStream = largeFramesFromStream;
        // The shared memory pool: the pipe then rents its segments straight from ArrayPool<byte>.Shared.
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: SegmentSize, minimumReadSize: 4096, leaveOpen: true));
        MaxFrameSize = maxFrameSize;
    }

    public int MaxFrameSize { get; set; }

    public ByteBudget? Budget { get; set; }

    public long FrameStartedTicks { get; private set; }

    public long TakeReserved()
    {
        long reserved = _reserved;
        _reserved = 0;
        return reserved;
    }

    public byte[]? TakeLease()
    {
        var lease = _lease;
        _lease = null;
        return lease;
    }

    public async ValueTask<Frame?> ReadAsync(Func<ulong, Memory<byte>?>? destinationFor, CancellationToken cancellationToken)
    {
        _lease = null;
        if (Budget is { } budget) budget.Release(TakeReserved());
        var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (result.Buffer.IsEmpty && result.IsCompleted)
        {
            _reader.AdvanceTo(result.Buffer.End);
            return null;
        }

        FrameStartedTicks = Math.Max(1, Environment.TickCount64);
        int length, prefix;
        while (!TryReadPrefix(result.Buffer, MaxFrameSize, out length, out prefix))
        {
            if (result.IsCompleted)
                throw new ProtocolException("The peer closed the connection inside a frame's length prefix.");
            _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        // The common case reads a small frame out of the buffer the prefix came in: one ReadAsync and one AdvanceTo per
        // frame. The budget is charged before the body is parsed; when it must wait, the body waits unread.
        var buffered = true;
        if (Budget is not null)
        {
            var acquire = Budget.AcquireAsync(prefix + length, cancellationToken);
            if (acquire.IsCompletedSuccessfully)
            {
                _reserved = acquire.Result;
            }
            else
            {
                _reader.AdvanceTo(result.Buffer.GetPosition(prefix));
                buffered = false;
                FrameStartedTicks = 0;
                _reserved = await acquire.ConfigureAwait(false);
                FrameStartedTicks = Math.Max(1, Environment.TickCount64);
            }
        }

        try
        {
            Frame frame;
            if (buffered && length <= SegmentSize && result.Buffer.Length >= prefix + length)
            {
                var body = result.Buffer.Slice(prefix, length);
                try
                {
                    frame = ParseSmall(body, length);
                }
                finally
                {
                    _reader.AdvanceTo(body.End); // consumed even when refused: the next frame starts after it
                }
            }
            else
            {
                if (buffered) _reader.AdvanceTo(result.Buffer.GetPosition(prefix));
                frame = length <= SegmentSize
                    ? await ReadSmallAsync(length, cancellationToken).ConfigureAwait(false)
                    : destinationFor is not null && await TryReadIntoDestinationAsync(length, destinationFor, cancellationToken).ConfigureAwait(false) is { } direct
                        ? direct
                        : await ReadLargeAsync(length, cancellationToken).ConfigureAwait(false);
            }

            FrameStartedTicks = 0;
            return frame;
        }
        catch
        {
            Budget?.Release(TakeReserved());
            throw;
        }
    }

    /// <summary>The varint prefix; throws as soon as a byte makes it too long or too large, false while it is incomplete.</summary>
    private static bool TryReadPrefix(ReadOnlySequence<byte> buffer, int maxFrameSize, out int length, out int prefix)
    {
        var reader = new SequenceReader<byte>(buffer);
        ulong value = 0;
        int shift = 0;
        length = prefix = 0;
        while (reader.TryRead(out byte b))
        {
            prefix++;
            value |= (ulong)(b & 0x7F) << shift;
            if (value > (ulong)maxFrameSize)
                throw new ProtocolException($"The peer announced a frame larger than the {maxFrameSize}-byte maximum.");
            if ((b & 0x80) == 0)
            {
                if (value == 0) throw new ProtocolException("The peer sent an empty frame.");
                length = (int)value;
                return true;
            }

            shift += 7;
            if (shift >= 35) throw new ProtocolException("The peer sent a frame length prefix longer than 5 bytes.");
        }

        return false;
    }

    private async ValueTask<ReadOnlySequence<byte>> ReadExactlyAsync(int length, int frameLength, CancellationToken cancellationToken)
    {
        var result = await _reader.ReadAtLeastAsync(length, cancellationToken).ConfigureAwait(false);
        if (result.Buffer.Length < length)
        {
            _reader.AdvanceTo(result.Buffer.End);
            throw new ProtocolException($"The peer closed the connection inside a {frameLength}-byte frame (truncated).");
        }

        return result.Buffer.Slice(0, length);
    }

    private async ValueTask<Frame> ReadSmallAsync(int length, CancellationToken cancellationToken)
    {
        var body = await ReadExactlyAsync(length, length, cancellationToken).ConfigureAwait(false);
        try
        {
            return ParseSmall(body, length);
        }
        finally
        {
            _reader.AdvanceTo(body.End); // consumed even when refused: the next frame starts after it
        }
    }

    private static Frame ParseSmall(ReadOnlySequence<byte> body, int length)
    {
        if (body.IsSingleSegment) return Parse(body.FirstSpan);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return Parse(copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private async ValueTask<Frame> ReadLargeAsync(int length, CancellationToken cancellationToken)
    {
        byte[] big = ArrayPool<byte>.Shared.Rent(Math.Min(length, FrameReader.LargeFrameFirstChunk));
        bool pooled = true;
        try
        {
            int have = 0;
            if (_largeFromStream)
            {
                // What the pipe holds already, then the rest from the stream, as FrameReader does.
                if (_reader.TryRead(out var buffered))
                {
                    var take = buffered.Buffer.Slice(0, Math.Min(buffered.Buffer.Length, Math.Min(length, big.Length)));
                    take.CopyTo(big);
                    have = (int)take.Length;
                    _reader.AdvanceTo(take.End);
                }

                while (have < length)
                {
                    int room = Math.Min(big.Length, length);
                    if (have == room)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, 4L * room));
                        Buffer.BlockCopy(big, 0, grown, 0, have);
                        ArrayPool<byte>.Shared.Return(big);
                        big = grown;
                        room = Math.Min(big.Length, length);
                    }

                    int n = await _stream.ReadAsync(big.AsMemory(have, room - have), cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                        throw new ProtocolException($"The peer closed the connection inside a {length}-byte frame (truncated).");
                    have += n;
                }
            }

            while (have < length)
            {
                var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                if (buffer.IsEmpty && result.IsCompleted)
                    throw new ProtocolException($"The peer closed the connection inside a {length}-byte frame (truncated).");
                var take = buffer.Slice(0, Math.Min(buffer.Length, length - have));
                if (have + take.Length > big.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, Math.Max(4L * big.Length, have + take.Length)));
                    Buffer.BlockCopy(big, 0, grown, 0, have);
                    ArrayPool<byte>.Shared.Return(big);
                    big = grown;
                }

                take.CopyTo(big.AsSpan(have));
                have += (int)take.Length;
                _reader.AdvanceTo(take.End);
            }

            CheckShape(big.AsSpan(0, length));
            if (LargeShardFrames.TryParse(big, length) is { } response)
            {
                pooled = false;
                return response;
            }

            if (LargeShardFrames.TryParsePutShard(big, length) is { } put)
            {
                pooled = false;
                _lease = big;
                return put;
            }

            return Parse(big.AsSpan(0, length), checkedShape: true);
        }
        finally
        {
            if (pooled) ArrayPool<byte>.Shared.Return(big);
        }
    }

    private async ValueTask<Frame?> TryReadIntoDestinationAsync(int length, Func<ulong, Memory<byte>?> destinationFor, CancellationToken cancellationToken)
    {
        var headBytes = await ReadExactlyAsync(HeadBytes, length, cancellationToken).ConfigureAwait(false);
        if (!TryParseHead(headBytes, length, out var parsed)
            || destinationFor(parsed.RequestId) is not { } destination || destination.Length < parsed.DataLength)
        {
            _reader.AdvanceTo(headBytes.Start); // nothing consumed: the generic path reads the frame from its start
            return null;
        }

        _reader.AdvanceTo(headBytes.GetPosition(parsed.DataOffset));
        int have = 0;
        while (have < parsed.DataLength)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.IsEmpty && result.IsCompleted)
                throw new ProtocolException($"The peer closed the connection inside a {length}-byte frame (truncated).");
            var take = result.Buffer.Slice(0, Math.Min(result.Buffer.Length, parsed.DataLength - have));
            take.CopyTo(destination.Span[have..]);
            have += (int)take.Length;
            _reader.AdvanceTo(take.End);
        }

        int tailLength = length - parsed.DataOffset - parsed.DataLength;
        if (tailLength > SegmentSize)
            throw new ProtocolException("The peer sent a GET_SHARD response with too many bytes after the shard.");
        var tailBytes = await ReadExactlyAsync(tailLength, length, cancellationToken).ConfigureAwait(false);
        ulong total = tailBytes.IsSingleSegment ? LargeShardFrames.ParseTail(tailBytes.FirstSpan) : LargeShardFrames.ParseTail(tailBytes.ToArray());

        _reader.AdvanceTo(tailBytes.End);
        return new Frame
        {
            RequestId = parsed.RequestId,
            Response = new Response
            {
                Status = parsed.Status,
                GetShard = new GetShardResponse { Data = UnsafeByteOperations.UnsafeWrap(destination[..parsed.DataLength]), TotalSize = total },
            },
        };
    }

    private static bool TryParseHead(ReadOnlySequence<byte> bytes, int length, out LargeShardFrames.Head head)
    {
        Span<byte> copy = stackalloc byte[HeadBytes];
        bytes.CopyTo(copy);
        return LargeShardFrames.TryParseHead(copy, length, out head);
    }

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
            return FrameReader.FrameParser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new ProtocolException($"The peer sent a frame that is not a valid protobuf message: {ex.Message}", ex);
        }
    }

    public void Dispose()
    {
        Budget?.Release(TakeReserved());
        _reader.Complete();
    }
}
