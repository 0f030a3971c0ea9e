using System.Security.Cryptography;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>A non-seekable stream of deterministic pseudo-random bytes that hashes what it hands out, so large
/// uploads stream without holding the file in memory.</summary>
internal sealed class GeneratedStream(long length, int seed) : Stream
{
    private readonly Random _random = new(seed);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;
    private byte[]? _sha256;

    /// <summary>The SHA-256 of everything handed out, once the end was reached.</summary>
    public byte[] Sha256() => _sha256 ?? throw new InvalidOperationException("The stream was not read to its end.");

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        _random.NextBytes(buffer[..n]);
        _hash.AppendData(buffer[..n]);
        _position += n;
        if (_position == length)
        {
            _sha256 ??= _hash.GetHashAndReset();
        }
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
