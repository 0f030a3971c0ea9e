using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Feeds random bytes and mutated valid frames through <see cref="FrameReader"/> in random chunk sizes, with and
/// without a destination buffer for large GET_SHARD answers. The only acceptable failure is
/// <see cref="ProtocolException"/>; every frame that parses must re-serialize, and the zero-copy GET_SHARD parser must
/// agree with protobuf's own parser whenever it accepts a frame.
/// </summary>
internal static class FrameFuzzer
{
    public const int MaxFrameSize = 1 << 20;

    public static async Task<FuzzReport> RunAsync(int seed, long cases, CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport("FrameReader");
        var m = new Mutator(seed);
        var frames = FuzzCorpus.Frames(m.Random).Select(FuzzCorpus.Wire).ToList();
        var shard = new byte[LargeShardFrames.Threshold + 1000];
        m.Random.NextBytes(shard);
        var big = FuzzCorpus.Wire(new Frame
        {
            RequestId = 7,
            Response = new Response { Status = new Status { Code = StatusCode.Ok }, GetShard = new GetShardResponse { Data = ByteString.CopyFrom(shard), TotalSize = (ulong)shard.Length } },
        });
        for (long i = 0; i < cases && !cancellationToken.IsCancellationRequested; i++)
        {
            byte[] input;
            int kind = m.Random.Next(100);
            if (kind < 15) input = m.RandomBytes(200);
            else if (kind < 75) input = m.Mutate(frames[m.Random.Next(frames.Count)], frames[m.Random.Next(frames.Count)]);
            else if (kind < 88)
            {
                var joined = new List<byte>();
                for (int f = 1 + m.Random.Next(3); f > 0; f--) joined.AddRange(frames[m.Random.Next(frames.Count)]);
                input = m.Mutate(joined.ToArray());
            }
            else if (kind < 92)
            {
                input = MutateLarge(m, big);
                DifferentialLarge(input, report);
            }
            else input = Reprefix(m, frames[m.Random.Next(frames.Count)]);
            await RunCaseAsync(input, m.Random, report).ConfigureAwait(false);
        }
        return report;
    }

    // Mutations of a 65 KiB frame stay near its envelope (a flip inside the shard bytes tests nothing new).
    private static byte[] MutateLarge(Mutator m, byte[] big)
    {
        var copy = (byte[])big.Clone();
        switch (m.Random.Next(4))
        {
            case 0:
                for (int j = 0; j < 1 + m.Random.Next(3); j++) copy[m.Random.Next(24)] ^= (byte)(1 << m.Random.Next(8));
                return copy;
            case 1:
                return copy[..m.Random.Next(copy.Length)];
            case 2:
                copy[^(1 + m.Random.Next(6))] = (byte)m.Random.Next(256);
                return copy;
            default:
                var head = m.Mutate(copy.AsSpan(0, 24));
                return [.. head, .. copy.AsSpan(24)];
        }
    }

    // A valid body behind a lying length prefix (short, long, over-long varint, zero).
    private static byte[] Reprefix(Mutator m, byte[] wire)
    {
        int prefixLen = 1;
        while ((wire[prefixLen - 1] & 0x80) != 0) prefixLen++;
        var body = wire.AsSpan(prefixLen);
        byte[] prefix = m.Random.Next(4) switch
        {
            0 => [(byte)m.Random.Next(128)],
            1 => [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
            2 => [0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            _ => [(byte)(0x80 | m.Random.Next(128)), (byte)m.Random.Next(128)],
        };
        return [.. prefix, .. body];
    }

    // The zero-copy GET_SHARD parser must accept only what protobuf accepts, and read it the same way.
    private static void DifferentialLarge(byte[] wire, FuzzReport report)
    {
        ulong length = 0;
        int pos = 0, shift = 0;
        while (pos < wire.Length && pos < 5)
        {
            byte b = wire[pos++];
            length |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) break;
            shift += 7;
        }
        var body = wire.AsSpan(pos).ToArray();
        Frame? fast;
        try
        {
            fast = LargeShardFrames.TryParse(body, body.Length);
        }
        catch (Exception ex)
        {
            report.Crash(ex, wire.AsSpan(0, Math.Min(wire.Length, 64)));
            return;
        }
        if (fast is null) return;
        Frame slow;
        try
        {
            slow = Frame.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            report.Crash("LargeShardFrames.TryParse accepted a frame protobuf refuses: " + Convert.ToHexString(body.AsSpan(0, 32)));
            return;
        }
        if (!fast.Equals(slow))
            report.Crash("LargeShardFrames.TryParse reads a frame differently from protobuf: " + Convert.ToHexString(body.AsSpan(0, 32)));
    }

    public static async Task RunCaseAsync(byte[] input, Random random, FuzzReport report)
    {
        using var stream = new ChunkedStream(input, random, 1 + random.Next(4096));
        using var reader = new FrameReader(stream, MaxFrameSize);
        Memory<byte> destination = random.Next(2) == 0 ? new byte[LargeShardFrames.Threshold + 500 + random.Next(1000)] : default;
        Func<ulong, Memory<byte>?>? destinationFor = destination.IsEmpty ? null : _ => destination;
        int parsed = 0;
        try
        {
            while (await reader.ReadAsync(destinationFor, CancellationToken.None).ConfigureAwait(false) is { } frame)
            {
                parsed++;
                var bytes = frame.ToByteArray();
                if (bytes.Length > LargeShardFrames.Threshold && LargeShardFrames.TryParse(bytes, bytes.Length) is { } fast
                    && !fast.Equals(Frame.Parser.ParseFrom(bytes)))
                {
                    report.Crash("LargeShardFrames.TryParse disagrees with the protobuf parser on " + Convert.ToHexString(bytes.AsSpan(0, 64)));
                    return;
                }
            }
            report.Count(parsed == 0 ? "empty" : "parsed");
        }
        catch (ProtocolException)
        {
            report.Count("ProtocolException");
        }
        catch (Exception ex)
        {
            report.Crash(ex, input);
        }
    }
}
