using System.Buffers;
using Google.Protobuf;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Zero-copy paths for the two large messages of the protocol, a GET_SHARD response and a PUT_SHARD request.
/// Protobuf's C# runtime copies every bytes field on parse and serialization; for a 1 MiB shard that is two extra
/// passes over the data and a zeroed allocation. The writer sends either message's envelope bytes and then the
/// shard straight from its buffer; the reader lets a parsed GET_SHARD response or PUT_SHARD request alias the shard
/// inside the array it read the frame into. The byte layout is exactly what protobuf itself produces (fields in
/// number order), checked by tests; anything else falls back to the normal parser.
/// </summary>
internal static class LargeShardFrames
{
    // Unknown fields are dropped, as by the reader's own parser (FrameReader.FrameParser).
    private static readonly MessageParser<Status> StatusParser = Status.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<ValueRecord> RecordParser = ValueRecord.Parser.WithDiscardUnknownFields(true);
    private static readonly MessageParser<StoreDelegation> DelegationParser = StoreDelegation.Parser.WithDiscardUnknownFields(true);

    /// <summary>Frames at least this large take the zero-copy path.</summary>
    public const int Threshold = 64 * 1024;

    private const byte FrameRequestIdTag = 0x08;   // field 1, varint
    private const byte FrameResponseTag = 0x2A;    // field 5, length-delimited
    private const byte ResponseStatusTag = 0x0A;   // field 1, length-delimited
    private const byte ResponseGetShardTag = 0x3A; // field 7, length-delimited
    private const byte ShardDataTag = 0x0A;        // field 1, length-delimited
    private const byte ShardTotalSizeTag = 0x10;   // field 2, varint
    private const byte FrameDeadlineTag = 0x10;    // field 2, varint
    private const byte FrameRequestTag = 0x22;     // field 4, length-delimited
    private const byte RequestPutShardTag = 0x2A;  // Request field 5, length-delimited
    private const byte PutHashTag = 0x0A;          // PutShardRequest field 1, length-delimited
    private const byte PutDataTag = 0x12;          // field 2, length-delimited
    private const byte PutRecordTag = 0x2A;        // field 5, length-delimited
    private const byte PutCidTag = 0x32;           // field 6, length-delimited
    private const byte PutDelegationTag = 0x42;    // field 8, length-delimited

    /// <summary>
    /// Splits a large GET_SHARD response or PUT_SHARD request frame into (envelope bytes before the shard, the shard,
    /// bytes after it), wire prefix included; returns false for any other frame.
    /// </summary>
    public static bool TrySplit(Frame frame, out byte[] head, out ReadOnlyMemory<byte> data, out byte[] tail)
    {
        head = tail = [];
        data = default;
        if (frame.BodyCase == Frame.BodyOneofCase.Request) return TrySplitPutShard(frame, out head, out data, out tail);
        if (frame.BodyCase != Frame.BodyOneofCase.Response || frame.DeadlineMs != 0) return false;
        var response = frame.Response;
        if (response.KindCase != Response.KindOneofCase.GetShard || response.GetShard.Data.Length < Threshold) return false;
        var shard = response.GetShard;
        data = shard.Data.Memory;
        byte[] status = response.Status is null ? [] : response.Status.ToByteArray();

        int tailLen = shard.TotalSize == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(shard.TotalSize);
        int shardLen = 1 + CodedOutputStream.ComputeLengthSize(data.Length) + data.Length + tailLen;
        int responseLen = (response.Status is null ? 0 : 1 + CodedOutputStream.ComputeLengthSize(status.Length) + status.Length)
                          + 1 + CodedOutputStream.ComputeLengthSize(shardLen) + shardLen;
        int frameLen = (frame.RequestId == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(frame.RequestId))
                       + 1 + CodedOutputStream.ComputeLengthSize(responseLen) + responseLen;
        // Unknown fields or anything this layout does not cover: let protobuf serialize it.
        if (frameLen != frame.CalculateSize()) return false;

        var h = new ArrayBufferWriter<byte>(64 + status.Length);
        WriteVarint(h, (uint)frameLen);
        if (frame.RequestId != 0)
        {
            h.Write([FrameRequestIdTag]);
            WriteVarint(h, frame.RequestId);
        }
        h.Write([FrameResponseTag]);
        WriteVarint(h, (uint)responseLen);
        if (response.Status is not null)
        {
            h.Write([ResponseStatusTag]);
            WriteVarint(h, (uint)status.Length);
            h.Write(status);
        }
        h.Write([ResponseGetShardTag]);
        WriteVarint(h, (uint)shardLen);
        h.Write([ShardDataTag]);
        WriteVarint(h, (uint)data.Length);
        head = h.WrittenSpan.ToArray();
        if (tailLen > 0)
        {
            var t = new ArrayBufferWriter<byte>(11);
            t.Write([ShardTotalSizeTag]);
            WriteVarint(t, shard.TotalSize);
            tail = t.WrittenSpan.ToArray();
        }
        return true;
    }

    private static bool TrySplitPutShard(Frame frame, out byte[] head, out ReadOnlyMemory<byte> data, out byte[] tail)
    {
        head = tail = [];
        data = default;
        var request = frame.Request;
        if (request.KindCase != Request.KindOneofCase.PutShard || request.PutShard.Data.Length < Threshold) return false;
        var put = request.PutShard;
        // The fields after the shard (5, 6, 8) are the same bytes on their own as inside the request: protobuf writes
        // fields in number order.
        byte[] after = new PutShardRequest { FileRecord = put.FileRecord, FileCid = put.FileCid, Delegation = put.Delegation }.ToByteArray();
        int dataLength = put.Data.Length;
        int hashLength = put.ShardHash.Length;
        int putLen = (hashLength == 0 ? 0 : 1 + CodedOutputStream.ComputeLengthSize(hashLength) + hashLength)
                     + 1 + CodedOutputStream.ComputeLengthSize(dataLength) + dataLength + after.Length;
        int requestLen = 1 + CodedOutputStream.ComputeLengthSize(putLen) + putLen;
        int frameLen = (frame.RequestId == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(frame.RequestId))
                       + (frame.DeadlineMs == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt32Size(frame.DeadlineMs))
                       + 1 + CodedOutputStream.ComputeLengthSize(requestLen) + requestLen;
        // Unknown fields or anything this layout does not cover: let protobuf serialize it.
        if (frameLen != frame.CalculateSize()) return false;

        var h = new ArrayBufferWriter<byte>(32 + hashLength);
        WriteVarint(h, (uint)frameLen);
        if (frame.RequestId != 0)
        {
            h.Write([FrameRequestIdTag]);
            WriteVarint(h, frame.RequestId);
        }
        if (frame.DeadlineMs != 0)
        {
            h.Write([FrameDeadlineTag]);
            WriteVarint(h, frame.DeadlineMs);
        }
        h.Write([FrameRequestTag]);
        WriteVarint(h, (uint)requestLen);
        h.Write([RequestPutShardTag]);
        WriteVarint(h, (uint)putLen);
        if (hashLength > 0)
        {
            h.Write([PutHashTag]);
            WriteVarint(h, (uint)hashLength);
            h.Write(put.ShardHash.Span);
        }
        h.Write([PutDataTag]);
        WriteVarint(h, (uint)dataLength);
        head = h.WrittenSpan.ToArray();
        data = put.Data.Memory;
        tail = after;
        return true;
    }

    /// <summary>
    /// Parses a GET_SHARD response frame held in <paramref name="buffer"/> (which the caller gives up: the shard
    /// bytes of the result alias it). Returns null when the frame has any other shape.
    /// </summary>
    public static Frame? TryParse(byte[] buffer, int length)
    {
        try
        {
            var span = buffer.AsSpan(0, length);
            int pos = 0;
            ulong requestId = 0;
            int responseStart = -1, responseLen = 0;
            while (pos < span.Length)
            {
                ulong tag = ReadVarint(span, ref pos);
                if (tag == FrameRequestIdTag) requestId = ReadVarint(span, ref pos);
                else if (tag == FrameResponseTag && responseStart < 0) (responseStart, responseLen) = ReadLength(span, ref pos);
                else return null;
            }
            if (responseStart < 0) return null;

            var responseSpan = span.Slice(responseStart, responseLen);
            pos = 0;
            Status? status = null;
            int shardStart = -1, shardLen = 0;
            while (pos < responseSpan.Length)
            {
                ulong tag = ReadVarint(responseSpan, ref pos);
                if (tag == ResponseStatusTag && status is null)
                {
                    var (s, l) = ReadLength(responseSpan, ref pos);
                    status = StatusParser.ParseFrom(responseSpan.Slice(s, l));
                }
                else if (tag == ResponseGetShardTag && shardStart < 0) (shardStart, shardLen) = ReadLength(responseSpan, ref pos);
                else return null;
            }
            if (shardStart < 0) return null;

            var shardSpan = responseSpan.Slice(shardStart, shardLen);
            int shardOffset = responseStart + shardStart;
            pos = 0;
            int dataStart = -1, dataLen = 0;
            ulong total = 0;
            while (pos < shardSpan.Length)
            {
                ulong tag = ReadVarint(shardSpan, ref pos);
                if (tag == ShardDataTag && dataStart < 0) (dataStart, dataLen) = ReadLength(shardSpan, ref pos);
                else if (tag == ShardTotalSizeTag) total = ReadVarint(shardSpan, ref pos);
                else return null;
            }
            var shard = new GetShardResponse
            {
                Data = dataStart < 0 ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(shardOffset + dataStart, dataLen)),
                TotalSize = total,
            };
            return new Frame { RequestId = requestId, Response = new Response { Status = status, GetShard = shard } };
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return null; // Let the normal parser produce the error.
        }
    }

    /// <summary>
    /// Parses a PUT_SHARD request frame held in <paramref name="buffer"/> so that the parsed shard bytes alias it
    /// (protobuf would copy them). The caller keeps the buffer alive and unchanged until the request is handled.
    /// Returns null for any other shape, including repeated fields, so the normal parser decides.
    /// </summary>
    public static Frame? TryParsePutShard(byte[] buffer, int length)
    {
        try
        {
            var span = buffer.AsSpan(0, length);
            int pos = 0;
            ulong requestId = 0, deadline = 0;
            int requestStart = -1, requestLen = 0;
            bool seenId = false, seenDeadline = false;
            while (pos < span.Length)
            {
                ulong tag = ReadVarint(span, ref pos);
                if (tag == FrameRequestIdTag && !seenId) { requestId = ReadVarint(span, ref pos); seenId = true; }
                else if (tag == FrameDeadlineTag && !seenDeadline) { deadline = ReadVarint(span, ref pos); seenDeadline = true; }
                else if (tag == FrameRequestTag && requestStart < 0) (requestStart, requestLen) = ReadLength(span, ref pos);
                else return null;
            }
            if (requestStart < 0 || deadline > uint.MaxValue) return null;

            var requestSpan = span.Slice(requestStart, requestLen);
            pos = 0;
            if (requestSpan.IsEmpty || ReadVarint(requestSpan, ref pos) != RequestPutShardTag) return null;
            var (putStart, putLen) = ReadLength(requestSpan, ref pos);
            if (pos != requestSpan.Length) return null;

            var putSpan = requestSpan.Slice(putStart, putLen);
            int putOffset = requestStart + putStart;
            pos = 0;
            int hashStart = -1, hashLen = 0, dataStart = -1, dataLen = 0, recordStart = -1, recordLen = 0;
            int cidStart = -1, cidLen = 0, delegationStart = -1, delegationLen = 0;
            while (pos < putSpan.Length)
            {
                ulong tag = ReadVarint(putSpan, ref pos);
                if (tag == PutHashTag && hashStart < 0) (hashStart, hashLen) = ReadLength(putSpan, ref pos);
                else if (tag == PutDataTag && dataStart < 0) (dataStart, dataLen) = ReadLength(putSpan, ref pos);
                else if (tag == PutRecordTag && recordStart < 0) (recordStart, recordLen) = ReadLength(putSpan, ref pos);
                else if (tag == PutCidTag && cidStart < 0) (cidStart, cidLen) = ReadLength(putSpan, ref pos);
                else if (tag == PutDelegationTag && delegationStart < 0) (delegationStart, delegationLen) = ReadLength(putSpan, ref pos);
                else return null;
            }

            var put = new PutShardRequest
            {
                ShardHash = hashStart < 0 ? ByteString.Empty : ByteString.CopyFrom(putSpan.Slice(hashStart, hashLen)),
                Data = dataStart < 0 ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(buffer.AsMemory(putOffset + dataStart, dataLen)),
                FileRecord = recordStart < 0 ? null : RecordParser.ParseFrom(putSpan.Slice(recordStart, recordLen)),
                FileCid = cidStart < 0 ? ByteString.Empty : ByteString.CopyFrom(putSpan.Slice(cidStart, cidLen)),
                Delegation = delegationStart < 0 ? null : DelegationParser.ParseFrom(putSpan.Slice(delegationStart, delegationLen)),
            };
            return new Frame { RequestId = requestId, DeadlineMs = (uint)deadline, Request = new Request { PutShard = put } };
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return null; // Let the normal parser produce the error.
        }
    }

    /// <summary>Where a GET_SHARD response frame's shard bytes start, read from the first bytes of the frame.</summary>
    public readonly record struct Head(ulong RequestId, Status? Status, int DataOffset, int DataLength);

    /// <summary>
    /// Reads the envelope of a GET_SHARD response from its first bytes (<paramref name="start"/>, which must hold
    /// everything up to the shard bytes) so the shard can be read straight into a caller's buffer.
    /// </summary>
    public static bool TryParseHead(ReadOnlySpan<byte> start, int frameLength, out Head head)
    {
        head = default;
        try
        {
            int pos = 0;
            ulong requestId = 0;
            ulong tag = ReadVarint(start, ref pos);
            if (tag == FrameRequestIdTag)
            {
                requestId = ReadVarint(start, ref pos);
                tag = ReadVarint(start, ref pos);
            }
            if (tag != FrameResponseTag) return false;
            ulong responseLen = ReadVarint(start, ref pos);
            if (responseLen != (ulong)(frameLength - pos)) return false;
            tag = ReadVarint(start, ref pos);
            Status? status = null;
            if (tag == ResponseStatusTag)
            {
                var (s, l) = ReadLength(start, ref pos);
                status = StatusParser.ParseFrom(start.Slice(s, l));
                tag = ReadVarint(start, ref pos);
            }
            if (tag != ResponseGetShardTag) return false;
            ulong shardLen = ReadVarint(start, ref pos);
            if (shardLen != (ulong)(frameLength - pos)) return false;
            if (ReadVarint(start, ref pos) != ShardDataTag) return false;
            ulong dataLen = ReadVarint(start, ref pos);
            if (dataLen > (ulong)(frameLength - pos)) return false;
            head = new Head(requestId, status, pos, (int)dataLen);
            return true;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>Reads the fields after the shard bytes (total_size; unknown fields are skipped).</summary>
    /// <exception cref="ProtocolException">The fields are malformed (a truncated varint, a length past the frame).</exception>
    public static ulong ParseTail(ReadOnlySpan<byte> tail)
    {
        ulong total = 0;
        int pos = 0;
        try
        {
            while (pos < tail.Length)
            {
                ulong tag = ReadVarint(tail, ref pos);
                switch (tag & 7)
                {
                    case 0:
                        ulong v = ReadVarint(tail, ref pos);
                        if (tag == ShardTotalSizeTag) total = v;
                        break;
                    case 1: pos += 8; break;
                    case 2: ReadLength(tail, ref pos); break;
                    case 5: pos += 4; break;
                    default: throw new ProtocolException("The peer sent a GET_SHARD response with a malformed field after the shard.");
                }
            }
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            // The varint and length readers run off the end of hostile bytes; that is a protocol error like any other.
            throw new ProtocolException("The peer sent a GET_SHARD response with a truncated field after the shard.", ex);
        }
        if (pos != tail.Length) throw new ProtocolException("The peer sent a GET_SHARD response whose fields overrun the frame.");
        return total;
    }

    /// <summary>Reads a length-delimited field's length at <paramref name="pos"/> and skips its bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The field runs past the span.</exception>
    internal static (int Start, int Length) ReadLength(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong len = ReadVarint(span, ref pos);
        if (len > (ulong)(span.Length - pos)) throw new ArgumentOutOfRangeException(nameof(span), "Field runs past the frame.");
        int start = pos;
        pos += (int)len;
        return (start, (int)len);
    }

    /// <summary>Reads a varint at <paramref name="pos"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The varint is longer than 10 bytes.</exception>
    /// <exception cref="IndexOutOfRangeException">The span ends inside it.</exception>
    internal static ulong ReadVarint(ReadOnlySpan<byte> span, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = span[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new ArgumentOutOfRangeException(nameof(span), "Varint too long.");
    }

    private static void WriteVarint(ArrayBufferWriter<byte> writer, ulong value)
    {
        Span<byte> b = stackalloc byte[10];
        int i = 0;
        while (value >= 0x80)
        {
            b[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        b[i++] = (byte)value;
        writer.Write(b[..i]);
    }
}
