namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>A read-only stream over bytes that hands them out in random small chunks, as a socket would.</summary>
internal sealed class ChunkedStream(byte[] data, Random random, int maxChunk) : ReadOnlySourceStream
{
    public override long Length => data.Length;

    public override int Read(Span<byte> buffer)
    {
        var position = (int)Consumed;
        int n = Math.Min(Math.Min(buffer.Length, data.Length - position), 1 + random.Next(maxChunk));
        data.AsSpan(position, n).CopyTo(buffer);
        Consumed += n;
        return n;
    }
}
