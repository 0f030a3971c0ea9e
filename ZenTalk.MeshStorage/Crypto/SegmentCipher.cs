using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ZenTalk.MeshStorage.Crypto;

/// <summary>
/// AES-256-GCM over one file's segments (format version 1, see docs/formats.md).
/// <list type="bullet">
/// <item>File key and nonce prefix: HKDF-SHA256(IKM = content key, salt = the file's 16-byte random salt,
/// info = "ZenTalk CFS v1 segment cipher", L = 36) = 32-byte AES key ‖ 4-byte nonce prefix. A per-file subkey
/// means that even a content key reused across files never reuses a (key, nonce) pair.</item>
/// <item>Nonce of segment i: nonce prefix (4) ‖ i as 64-bit big-endian (8).</item>
/// <item>AAD of segment i (26 bytes): version (1) ‖ flags (1, bit 0 = last segment) ‖ i big-endian (8) ‖ salt (16).
/// Binding the index and the last flag makes reordering, duplicating, dropping and appending segments fail;
/// binding the salt makes splicing segments from another file fail even under the same content key.</item>
/// <item>Output: ciphertext (same length as the plaintext) ‖ 16-byte tag.</item>
/// </list>
/// Not thread-safe (one <see cref="AesGcm"/> per instance); the pipeline uses one instance per worker.
/// </summary>
internal sealed class SegmentCipher : IDisposable
{
    public const byte FormatVersion = 1;
    public const int TagSize = 16;
    public const int NonceSize = 12;
    public const int SaltSize = 16;
    public const int AadSize = 26;
    private const byte LastFlag = 1;

    private static readonly byte[] HkdfInfo = "ZenTalk CFS v1 segment cipher"u8.ToArray();

    private readonly AesGcm _aes;
    private readonly byte[] _noncePrefix = new byte[4];
    private readonly byte[] _salt;

    public SegmentCipher(ContentKey key, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (salt.Length != SaltSize)
        {
            throw new ArgumentException($"The file salt is {SaltSize} bytes.", nameof(salt));
        }

        _salt = salt.ToArray();
        Span<byte> okm = stackalloc byte[36];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, key.Bytes, okm, _salt, HkdfInfo);
        _aes = new AesGcm(okm[..32], TagSize);
        okm[32..].CopyTo(_noncePrefix);
        CryptographicOperations.ZeroMemory(okm);
    }

    /// <summary>Draws a fresh random file salt.</summary>
    public static byte[] NewSalt() => RandomNumberGenerator.GetBytes(SaltSize);

    /// <summary>Encrypts one segment into <paramref name="destination"/> (plaintext length + <see cref="TagSize"/> bytes).</summary>
    public void Encrypt(long index, bool last, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (destination.Length != plaintext.Length + TagSize)
        {
            throw new ArgumentException("The destination must be the plaintext length plus the tag.", nameof(destination));
        }

        Span<byte> nonce = stackalloc byte[NonceSize];
        Span<byte> aad = stackalloc byte[AadSize];
        Fill(index, last, nonce, aad);
        _aes.Encrypt(nonce, plaintext, destination[..plaintext.Length], destination[plaintext.Length..], aad);
    }

    /// <summary>
    /// Decrypts one segment. On any failure (wrong key, tampered byte, wrong position, wrong file) it throws
    /// <see cref="IntegrityException"/> and leaves <paramref name="destination"/> zeroed: no unauthenticated
    /// plaintext escapes.
    /// </summary>
    public void Decrypt(long index, bool last, ReadOnlySpan<byte> ciphertextAndTag, Span<byte> destination)
    {
        if (ciphertextAndTag.Length < TagSize || destination.Length != ciphertextAndTag.Length - TagSize)
        {
            throw new IntegrityException($"Segment {index} is {ciphertextAndTag.Length} bytes, too short to hold its authentication tag.");
        }

        Span<byte> nonce = stackalloc byte[NonceSize];
        Span<byte> aad = stackalloc byte[AadSize];
        Fill(index, last, nonce, aad);
        var textLength = ciphertextAndTag.Length - TagSize;
        try
        {
            _aes.Decrypt(nonce, ciphertextAndTag[..textLength], ciphertextAndTag[textLength..], destination, aad);
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(destination);
            throw new IntegrityException(
                $"Segment {index} failed authentication: the content key is wrong, or the data was tampered with, reordered, truncated or taken from another file.", e);
        }
    }

    private void Fill(long index, bool last, Span<byte> nonce, Span<byte> aad)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        _noncePrefix.CopyTo(nonce);
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], index);
        aad[0] = FormatVersion;
        aad[1] = last ? LastFlag : (byte)0;
        BinaryPrimitives.WriteInt64BigEndian(aad[2..], index);
        _salt.CopyTo(aad[10..]);
    }

    public void Dispose() => _aes.Dispose();
}
