using System.Diagnostics.CodeAnalysis;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage;

/// <summary>
/// A content identifier: the SHA-256 of a file's signed manifest bytes. Anyone holding a manifest can check it
/// against its CID, so a CID names exactly one immutable manifest.
/// </summary>
/// <remarks>
/// Text form (57 characters, URL-safe): the prefix <c>zt</c>, then lower-case RFC 4648 base32 without padding of
/// 34 bytes: a version byte (<c>0x01</c>), a hash id byte (<c>0x12</c>, SHA-256 as in multihash) and the 32-byte
/// digest. <see cref="Parse"/> accepts only that canonical form. <c>default(Cid)</c> holds the all-zero digest,
/// which names no manifest.
/// </remarks>
public readonly struct Cid : IEquatable<Cid>
{
    /// <summary>The version byte of the current text and binary form.</summary>
    internal const byte Version = 0x01;

    /// <summary>The hash id of SHA-256 (the multihash code).</summary>
    internal const byte Sha256Id = 0x12;

    private const string Prefix = "zt";
    private const int BinaryLength = 2 + Sha256Hash.Size;
    private const int TextLength = 57; // "zt" + the 55 base32 characters of BinaryLength bytes

    private readonly Sha256Hash _digest;

    private Cid(Sha256Hash digest) => _digest = digest;

    /// <summary>The CID of the given manifest bytes.</summary>
    internal static Cid Compute(ReadOnlySpan<byte> manifestBytes) => new(Sha256Hash.Compute(manifestBytes));

    internal static Cid FromDigest(Sha256Hash digest) => new(digest);

    /// <summary>Whether <paramref name="manifestBytes"/> are the manifest this CID names.</summary>
    internal bool Matches(ReadOnlySpan<byte> manifestBytes) => Sha256Hash.Compute(manifestBytes) == _digest;

    /// <summary>Copies the 32-byte SHA-256 digest.</summary>
    /// <param name="destination">At least 32 bytes.</param>
    /// <exception cref="ArgumentException">The destination is shorter than 32 bytes.</exception>
    public void CopyDigestTo(Span<byte> destination) => _digest.CopyTo(destination);

    /// <summary>Reads the canonical text form.</summary>
    /// <param name="text">A CID as produced by <see cref="ToString"/>.</param>
    /// <returns>The CID.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a canonical CID of a supported version.</exception>
    public static Cid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var cid)
            ? cid
            : throw new FormatException("Not a ZenTalk CID: expected 'zt' followed by 55 lower-case base32 characters of version 1 and SHA-256.");
    }

    /// <summary>Reads the canonical text form without throwing.</summary>
    /// <param name="text">The text to read; may be null.</param>
    /// <param name="cid">The CID, or <c>default</c> when the text is not one.</param>
    /// <returns>True when <paramref name="text"/> is a canonical CID of a supported version.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, out Cid cid) => TryParse(text.AsSpan(), out cid);

    /// <summary>Reads the canonical text form without throwing.</summary>
    /// <param name="text">The characters to read.</param>
    /// <param name="cid">The CID, or <c>default</c> when the text is not one.</param>
    /// <returns>True when <paramref name="text"/> is a canonical CID of a supported version.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out Cid cid)
    {
        cid = default;
        if (text.Length != TextLength || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[BinaryLength];
        if (!Base32.TryDecode(text[Prefix.Length..], bytes, ignoreCase: false) || bytes[0] != Version || bytes[1] != Sha256Id)
        {
            return false;
        }

        cid = new Cid(new Sha256Hash(bytes[2..]));
        return true;
    }

    /// <summary>The canonical text form: <c>zt</c> + 55 lower-case base32 characters.</summary>
    /// <returns>The CID as text.</returns>
    public override string ToString()
    {
        return string.Create(TextLength, _digest, static (chars, digest) =>
        {
            Span<byte> bytes = stackalloc byte[BinaryLength];
            bytes[0] = Version;
            bytes[1] = Sha256Id;
            digest.CopyTo(bytes[2..]);
            Prefix.CopyTo(chars);
            Base32.Encode(bytes, chars[Prefix.Length..]);
        });
    }

    /// <summary>True when both name the same manifest.</summary>
    /// <param name="other">The other CID.</param>
    /// <returns>Whether the digests are equal.</returns>
    public bool Equals(Cid other) => _digest == other._digest;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Cid other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _digest.GetHashCode();

    /// <summary>True when both name the same manifest.</summary>
    /// <param name="left">One CID.</param>
    /// <param name="right">The other CID.</param>
    /// <returns>Whether the digests are equal.</returns>
    public static bool operator ==(Cid left, Cid right) => left.Equals(right);

    /// <summary>True when they name different manifests.</summary>
    /// <param name="left">One CID.</param>
    /// <param name="right">The other CID.</param>
    /// <returns>Whether the digests differ.</returns>
    public static bool operator !=(Cid left, Cid right) => !left.Equals(right);
}
