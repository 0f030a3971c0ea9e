namespace ZenTalk.Sdk.Tests.Sdk;

/// <summary>
/// A non-seekable source that yields <c>failAfter</c> bytes and then fails like a broken disk or socket would
/// (<see cref="int.MaxValue"/>: never), handing out at most <c>chunk</c> bytes per read.
/// </summary>
internal sealed class FailingStream(byte[] data, int failAfter, int chunk = int.MaxValue) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= failAfter)
        {
            throw new IOException("The source failed mid-read.");
        }
        var n = Math.Min(Math.Min(buffer.Length, chunk), Math.Min(failAfter, data.Length) - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
