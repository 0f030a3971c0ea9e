using System.Security.Cryptography;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk;

/// <summary>
/// Reads a retrieved attachment and checks it against the size and SHA-256 recorded in the message: more bytes than
/// recorded fail at once, and the end of the stream is reported only after the hash matched, so a reader that
/// reaches the end without an exception has exactly the bytes that were sent.
/// </summary>
internal sealed class VerifyingReadStream(Stream inner, long expectedSize, byte[] expectedSha256, string what) : Stream
{
    private const string ForwardOnly = "A retrieved attachment is read forward once while its size and SHA-256 are checked; it cannot seek or be written.";

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => expectedSize;
    public override long Position { get => _read; set => throw new NotSupportedException(ForwardOnly); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_verified)
        {
            return 0;
        }
        return Account(buffer, buffer.IsEmpty ? 0 : inner.Read(buffer));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_verified)
        {
            return 0;
        }
        var n = buffer.IsEmpty ? 0 : await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, n);
    }

    private int Account(Span<byte> buffer, int n)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }
        _read += n;
        if (_read > expectedSize)
        {
            throw new IntegrityException($"{what} is longer than the {expectedSize} bytes its message records; it is not the file that was sent.");
        }
        if (n > 0)
        {
            _hash.AppendData(buffer[..n]);
            return n;
        }
        if (_read != expectedSize)
        {
            throw new IntegrityException($"{what} ended after {_read} of the {expectedSize} bytes its message records.");
        }
        if (!CryptographicOperations.FixedTimeEquals(_hash.GetHashAndReset(), expectedSha256))
        {
            throw new IntegrityException($"{what} does not match the SHA-256 its message records; it is not the file that was sent.");
        }
        _verified = true;
        return 0;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException(ForwardOnly);
    public override void SetLength(long value) => throw new NotSupportedException(ForwardOnly);
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException(ForwardOnly);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        _hash.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
