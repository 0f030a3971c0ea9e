using Google.Protobuf.Reflection;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Checks a frame's wire bytes, before protobuf parses them, against the caps on repeated fields: every repeated field
/// of the schema holds at most <see cref="MaxRepeatedEntries"/> entries in one frame (counted over the whole frame, so
/// a message sent in several merged pieces counts once). Protobuf would otherwise build one object per entry: a 4 MiB
/// HAS_SHARDS request of one-byte hashes is 1.4 million ByteStrings, about 25 times its size. The walk follows the
/// schema (<see cref="Frame.Descriptor"/>), skips unknown fields without looking inside (the parser discards them) and
/// allocates nothing.
/// </summary>
internal static class FrameShape
{
    /// <summary>
    /// The most entries a repeated field may hold in one frame: enough for every shard of a file of 68 segments (15 per
    /// segment) in one HAS_SHARDS or DELETE_SHARDS, far more than a DHT answer's k peers. A request over it is answered
    /// INVALID_ARGUMENT without being parsed; any other frame over it closes the connection.
    /// </summary>
    public const int MaxRepeatedEntries = 1024;

    private const int MaxDepth = 16;

    private sealed class Plan
    {
        public Dictionary<int, FieldPlan> Fields { get; } = [];
    }

    /// <summary>How a repeated field's entries are counted in a length-delimited record.</summary>
    private enum Packing
    {
        /// <summary>A message, string or bytes field: each record is one entry.</summary>
        One,

        /// <summary>A packed varint field: one entry per varint.</summary>
        Varints,

        /// <summary>A packed 4-byte field.</summary>
        Fixed4,

        /// <summary>A packed 8-byte field.</summary>
        Fixed8,
    }

    /// <param name="Slot">Index of the repeated field's counter (-1: not repeated).</param>
    /// <param name="Nested">The message type's plan, for message fields.</param>
    /// <param name="Packing">How a length-delimited record of this field counts.</param>
    /// <param name="Name">The field's full name, for the refusal message.</param>
    private readonly record struct FieldPlan(int Slot, Plan? Nested, Packing Packing, string Name);

    private static readonly Plan Root;
    private static readonly int RepeatedFields;

    static FrameShape()
    {
        var plans = new Dictionary<MessageDescriptor, Plan>();
        int slots = 0;
        Root = Build(Frame.Descriptor, plans, ref slots);
        RepeatedFields = slots;
    }

    private static Plan Build(MessageDescriptor descriptor, Dictionary<MessageDescriptor, Plan> plans, ref int slots)
    {
        if (plans.TryGetValue(descriptor, out var existing)) return existing;
        var plan = new Plan();
        plans[descriptor] = plan;
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            Plan? nested = field.FieldType is FieldType.Message or FieldType.Group ? Build(field.MessageType, plans, ref slots) : null;
            var packing = field.FieldType switch
            {
                FieldType.Message or FieldType.Group or FieldType.String or FieldType.Bytes => Packing.One,
                FieldType.Fixed32 or FieldType.SFixed32 or FieldType.Float => Packing.Fixed4,
                FieldType.Fixed64 or FieldType.SFixed64 or FieldType.Double => Packing.Fixed8,
                _ => Packing.Varints,
            };
            plan.Fields[field.FieldNumber] = new FieldPlan(field.IsRepeated ? slots++ : -1, nested, packing, field.FullName);
        }

        return plan;
    }

    /// <summary>What <see cref="Check"/> found.</summary>
    /// <param name="RequestId">The frame's request id (0 when absent).</param>
    /// <param name="IsRequest">Whether the frame carries a request.</param>
    /// <param name="Refusal">Why the frame is refused, or null when it is within the caps.</param>
    public readonly record struct Result(ulong RequestId, bool IsRequest, string? Refusal);

    /// <summary>Walks a frame body (no length prefix).</summary>
    /// <exception cref="ProtocolException">The bytes are not a well-formed protobuf message of this schema's shape.</exception>
    public static Result Check(ReadOnlySpan<byte> frame)
    {
        Span<int> counts = RepeatedFields <= 64 ? stackalloc int[64] : new int[RepeatedFields];
        counts.Clear();
        ulong requestId = 0;
        bool isRequest = false;
        string? refusal;
        try
        {
            refusal = Walk(frame, Root, 0, counts, ref requestId, ref isRequest);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new ProtocolException("The peer sent a frame that is not a valid protobuf message (a field runs past its end).", ex);
        }

        return new Result(requestId, isRequest, refusal);
    }

    private static string? Walk(ReadOnlySpan<byte> span, Plan plan, int depth, Span<int> counts, ref ulong requestId, ref bool isRequest)
    {
        if (depth > MaxDepth) throw new ProtocolException("The peer sent a frame nested too deeply.");
        int pos = 0;
        while (pos < span.Length)
        {
            ulong tag = LargeShardFrames.ReadVarint(span, ref pos);
            int number = (int)Math.Min(tag >> 3, int.MaxValue);
            int wireType = (int)(tag & 7);
            bool known = plan.Fields.TryGetValue(number, out var field);
            switch (wireType)
            {
                case 0:
                    ulong value = LargeShardFrames.ReadVarint(span, ref pos);
                    if (depth == 0 && number == Frame.RequestIdFieldNumber) requestId = value;
                    if (known && field.Slot >= 0 && ++counts[field.Slot] > MaxRepeatedEntries) return TooMany(field);
                    break;
                case 1:
                case 5:
                    pos += wireType == 1 ? 8 : 4;
                    if (pos > span.Length) throw new ArgumentOutOfRangeException(nameof(span), "Field runs past the frame.");
                    if (known && field.Slot >= 0 && ++counts[field.Slot] > MaxRepeatedEntries) return TooMany(field);
                    break;
                case 2:
                    var (start, length) = LargeShardFrames.ReadLength(span, ref pos);
                    if (!known) break;
                    if (depth == 0 && number == Frame.RequestFieldNumber) isRequest = true;
                    if (field.Slot >= 0)
                    {
                        counts[field.Slot] += field.Packing switch
                        {
                            Packing.One => 1,
                            Packing.Fixed4 => length / 4,
                            Packing.Fixed8 => length / 8,
                            _ => Varints(span.Slice(start, length)),
                        };
                        if (counts[field.Slot] > MaxRepeatedEntries) return TooMany(field);
                    }

                    if (field.Nested is not null
                        && Walk(span.Slice(start, length), field.Nested, depth + 1, counts, ref requestId, ref isRequest) is { } inner)
                        return inner;
                    break;
                default:
                    // Groups (3, 4) are not used by proto3 and 6, 7 do not exist.
                    throw new ProtocolException($"The peer sent a frame with wire type {wireType}, which this protocol does not use.");
            }
        }

        return null;
    }

    private static int Varints(ReadOnlySpan<byte> packed)
    {
        int n = 0;
        foreach (byte b in packed)
            if ((b & 0x80) == 0) n++;
        return n;
    }

    private static string TooMany(FieldPlan field) =>
        $"The frame has more than {MaxRepeatedEntries} entries in {field.Name}; split the request.";
}
