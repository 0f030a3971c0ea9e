using System.Security.Cryptography;

namespace ZenTalk.Sdk;

/// <summary>
/// Passes reads through to an inner stream while hashing and counting the bytes, so an upload computes the
/// attachment's SHA-256 in the same single pass the mesh reads it (the source need not be seekable). Bytes the
/// caller already read from the inner stream (to decide where the file goes) come first, as <paramref name="prefix"/>.
/// </summary>
internal sealed class HashingReadStream(Stream inner, ReadOnlyMemory<byte> prefix = default) : Stream
{
    private ReadOnlyMemory<byte> _prefix = prefix;

    private const string NotSeekable = "An attachment stream is read forward once while its SHA-256 is checked; it cannot seek or report a length.";

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    public byte[] GetHashAndReset() => _hash.GetHashAndReset();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException(NotSeekable);
    public override long Position { get => BytesRead; set => throw new NotSupportedException(NotSeekable); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = TakePrefix(buffer);
        if (n == 0)
        {
            n = inner.Read(buffer);
        }
        Account(buffer[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = TakePrefix(buffer.Span);
        if (n == 0)
        {
            n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        Account(buffer.Span[..n]);
        return n;
    }

    private int TakePrefix(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _prefix.Length);
        _prefix.Span[..n].CopyTo(buffer);
        _prefix = _prefix[n..];
        return n;
    }

    private void Account(ReadOnlySpan<byte> data)
    {
        _hash.AppendData(data);
        BytesRead += data.Length;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException(NotSeekable);
    public override void SetLength(long value) => throw new NotSupportedException(NotSeekable);
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("An attachment stream is read-only.");

    protected override void Dispose(bool disposing)
    {
        // The caller owns the inner stream; only the hash is ours.
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
