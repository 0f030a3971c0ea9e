namespace ZenTalk.Sdk.Tests;

/// <summary>
/// The frame of the tests' non-seekable, read-only sources (generated, failing, chunked): one synchronous
/// <see cref="Read(Span{byte})"/> serves every read path, and everything else a read-only stream must refuse is refused
/// here once.
/// </summary>
internal abstract class ReadOnlySourceStream : Stream
{
    /// <summary>How many bytes were handed out so far.</summary>
    protected long Consumed { get; set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Consumed; set => throw new NotSupportedException(); }

    public abstract override int Read(Span<byte> buffer);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
