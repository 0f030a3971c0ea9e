using System.Security.Cryptography;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>A non-seekable stream of deterministic pseudo-random bytes that hashes what it hands out, so large
/// uploads stream without holding the file in memory.</summary>
internal sealed class GeneratedStream(long length, int seed) : ReadOnlySourceStream
{
    private readonly Random _random = new(seed);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[]? _sha256;

    /// <summary>The SHA-256 of everything handed out, once the end was reached.</summary>
    public byte[] Sha256() => _sha256 ?? throw new InvalidOperationException("The stream was not read to its end.");

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - Consumed);
        _random.NextBytes(buffer[..n]);
        _hash.AppendData(buffer[..n]);
        Consumed += n;
        if (Consumed == length)
        {
            _sha256 ??= _hash.GetHashAndReset();
        }
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
