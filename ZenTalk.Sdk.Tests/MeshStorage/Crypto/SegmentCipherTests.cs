using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class SegmentCipherTests
{
    private static byte[] Seal(SegmentCipher cipher, long index, bool last, byte[] plain)
    {
        var sealedBytes = new byte[plain.Length + SegmentCipher.TagSize];
        cipher.Encrypt(index, last, plain, sealedBytes);
        return sealedBytes;
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(4096)]
    public void Segment_round_trips_byte_for_byte(int length)
    {
        var key = ContentKey.Generate();
        var salt = SegmentCipher.NewSalt();
        var plain = RandomNumberGenerator.GetBytes(length);
        using var cipher = new SegmentCipher(key, salt);
        var sealedBytes = Seal(cipher, 3, true, plain);
        var back = new byte[length];
        cipher.Decrypt(3, true, sealedBytes, back);
        Assert.That(back, Is.EqualTo(plain));
    }

    [Test]
    public void Ciphertext_does_not_contain_the_plaintext()
    {
        var plain = new byte[1024];
        Array.Fill(plain, (byte)'A');
        using var cipher = new SegmentCipher(ContentKey.Generate(), SegmentCipher.NewSalt());
        var sealedBytes = Seal(cipher, 0, true, plain);
        Assert.That(sealedBytes.AsSpan(0, 1024).IndexOf(plain.AsSpan(0, 16)), Is.EqualTo(-1));
    }

    [Test]
    public void Wrong_key_fails_authentication_and_releases_no_plaintext()
    {
        var salt = SegmentCipher.NewSalt();
        var plain = RandomNumberGenerator.GetBytes(100);
        using var right = new SegmentCipher(ContentKey.Generate(), salt);
        using var wrong = new SegmentCipher(ContentKey.Generate(), salt);
        var sealedBytes = Seal(right, 0, true, plain);
        var back = new byte[100];
        Array.Fill(back, (byte)0xAA);
        Assert.Throws<IntegrityException>(() => wrong.Decrypt(0, true, sealedBytes, back));
        Assert.That(back, Is.All.EqualTo(0));
    }

    [Test]
    public void Every_flipped_bit_fails_authentication()
    {
        using var cipher = new SegmentCipher(ContentKey.Generate(), SegmentCipher.NewSalt());
        var plain = RandomNumberGenerator.GetBytes(40);
        var sealedBytes = Seal(cipher, 0, true, plain);
        var back = new byte[40];
        for (var bit = 0; bit < sealedBytes.Length * 8; bit += 7)
        {
            var copy = (byte[])sealedBytes.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<IntegrityException>(() => cipher.Decrypt(0, true, copy, back), $"bit {bit}");
        }
    }

    [Test]
    public void Segment_at_another_index_fails_authentication()
    {
        using var cipher = new SegmentCipher(ContentKey.Generate(), SegmentCipher.NewSalt());
        var sealedBytes = Seal(cipher, 1, false, new byte[64]);
        Assert.Throws<IntegrityException>(() => cipher.Decrypt(2, false, sealedBytes, new byte[64]));
        Assert.Throws<IntegrityException>(() => cipher.Decrypt(0, false, sealedBytes, new byte[64]));
    }

    [Test]
    public void Middle_segment_presented_as_last_fails_authentication()
    {
        using var cipher = new SegmentCipher(ContentKey.Generate(), SegmentCipher.NewSalt());
        var sealedBytes = Seal(cipher, 1, false, new byte[64]);
        Assert.Throws<IntegrityException>(() => cipher.Decrypt(1, true, sealedBytes, new byte[64]));
    }

    [Test]
    public void Segment_spliced_from_another_file_with_the_same_key_fails_authentication()
    {
        var key = ContentKey.Generate();
        using var fileA = new SegmentCipher(key, SegmentCipher.NewSalt());
        using var fileB = new SegmentCipher(key, SegmentCipher.NewSalt());
        var fromA = Seal(fileA, 0, true, new byte[64]);
        Assert.Throws<IntegrityException>(() => fileB.Decrypt(0, true, fromA, new byte[64]));
    }

    [Test]
    public void Truncated_segment_shorter_than_a_tag_is_an_integrity_error()
    {
        using var cipher = new SegmentCipher(ContentKey.Generate(), SegmentCipher.NewSalt());
        Assert.Throws<IntegrityException>(() => cipher.Decrypt(0, true, new byte[5], Span<byte>.Empty));
    }

    [Test]
    public void Same_key_and_index_in_two_files_use_different_keystreams()
    {
        var key = ContentKey.Generate();
        using var a = new SegmentCipher(key, SegmentCipher.NewSalt());
        using var b = new SegmentCipher(key, SegmentCipher.NewSalt());
        Assert.That(Seal(a, 0, true, new byte[32]), Is.Not.EqualTo(Seal(b, 0, true, new byte[32])));
    }

    [Test]
    public void Known_answer_pins_the_key_derivation_nonce_and_aad_layout()
    {
        // Recomputes the documented construction with the BCL primitives directly (docs/formats.md).
        var keyBytes = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var salt = Enumerable.Range(100, 16).Select(i => (byte)i).ToArray();
        var plain = "hello, segment"u8.ToArray();
        var okm = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyBytes, 36, salt, "ZenTalk CFS v1 segment cipher"u8.ToArray());
        var nonce = new byte[12];
        okm.AsSpan(32, 4).CopyTo(nonce);
        nonce[11] = 5;
        var aad = new byte[26];
        aad[0] = 1;
        aad[1] = 1;
        aad[9] = 5;
        salt.CopyTo(aad, 10);
        var expected = new byte[plain.Length + 16];
        using (var aes = new AesGcm(okm.AsSpan(0, 32), 16))
        {
            aes.Encrypt(nonce, plain, expected.AsSpan(0, plain.Length), expected.AsSpan(plain.Length), aad);
        }

        using var cipher = new SegmentCipher(ContentKey.FromBytes(keyBytes), salt);
        Assert.That(Seal(cipher, 5, true, plain), Is.EqualTo(expected));
    }
}
