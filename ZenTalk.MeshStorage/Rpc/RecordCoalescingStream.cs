using System.Buffers;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// The stream between a connection's <see cref="System.Net.Security.SslStream"/> and its socket. SslStream hands its
/// inner stream every TLS record (at most 16 KiB of plaintext) in a write of its own, so a 100 KiB shard would cost
/// seven sends, and on a local link seven trips through the receiver's network stack and up to seven wake-ups of its
/// reader. Between <see cref="Cork"/> and the next flush (the frame writer corks for each batch of frames it writes),
/// records are gathered in one pooled buffer of <see cref="Capacity"/> bytes and go out in one send when the batch
/// flushes or the buffer is full. Uncorked writes — the TLS handshake's and the version exchange's — pass straight
/// through, so nothing waits for a flush that SslStream itself would never ask for. Reads pass through.
/// </summary>
internal sealed class RecordCoalescingStream(Stream inner) : Stream
{
    /// <summary>Bytes gathered before a send: seven full records and change, so a 100 KiB shard's frame is one send.</summary>
    internal const int Capacity = 128 * 1024;

    private byte[]? _buffer;
    private int _used;
    private bool _corked;

    /// <summary>Gathers the writes that follow, until the next flush, into as few sends as fit.</summary>
    public void Cork() => _corked = true;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_corked) return inner.WriteAsync(buffer, cancellationToken);
        if (_used + buffer.Length <= Capacity)
        {
            buffer.Span.CopyTo((_buffer ??= ArrayPool<byte>.Shared.Rent(Capacity)).AsSpan(_used));
            _used += buffer.Length;
            return ValueTask.CompletedTask;
        }

        return SendThenWriteAsync(buffer, cancellationToken);
    }

    private async ValueTask SendThenWriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await SendAsync(cancellationToken).ConfigureAwait(false);
        if (buffer.Length > Capacity)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        buffer.Span.CopyTo((_buffer ??= ArrayPool<byte>.Shared.Rent(Capacity)).AsSpan());
        _used = buffer.Length;
    }

    private async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        if (_used == 0) return;
        await inner.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken).ConfigureAwait(false);
        _used = 0;
    }

    /// <summary>Sends what was gathered and uncorks; the buffer goes back to the pool, so an idle connection holds none.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        _corked = false;
        try
        {
            await SendAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _used = 0;
            if (_buffer is { } b)
            {
                _buffer = null;
                ArrayPool<byte>.Shared.Return(b);
            }
        }

        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override bool CanRead => inner.CanRead;

    public override bool CanWrite => inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
