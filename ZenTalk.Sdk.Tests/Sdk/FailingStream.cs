namespace ZenTalk.Sdk.Tests.Sdk;

/// <summary>
/// A non-seekable source that yields <c>failAfter</c> bytes and then fails like a broken disk or socket would
/// (<see cref="int.MaxValue"/>: never), handing out at most <c>chunk</c> bytes per read.
/// </summary>
internal sealed class FailingStream(byte[] data, int failAfter, int chunk = int.MaxValue) : ReadOnlySourceStream
{
    public override int Read(Span<byte> buffer)
    {
        var position = (int)Consumed;
        if (position >= failAfter)
        {
            throw new IOException("The source failed mid-read.");
        }
        var n = Math.Min(Math.Min(buffer.Length, chunk), Math.Min(failAfter, data.Length) - position);
        data.AsSpan(position, n).CopyTo(buffer);
        Consumed += n;
        return n;
    }
}
