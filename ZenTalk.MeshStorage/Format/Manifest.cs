using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format.Proto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// A signed, verified file manifest: everything needed to find, check and decrypt a file's shards except the
/// content key. Instances exist only after the signature and every structural rule were checked, so code that
/// holds one can trust its fields. Immutable.
/// </summary>
internal sealed class Manifest
{
    public const uint FormatVersion = 1;
    public const uint CipherAlgorithmAesGcmHkdf = 1;
    public const int MinSegmentSize = 4 * 1024;
    public const int MaxSegmentSize = 64 * 1024 * 1024;

    /// <summary>
    /// k + m at most: a segment's shards go to the nodes of one lookup, which returns at most k = 20 (the DHT's
    /// bucket size); more shards than that always share nodes, so they add bytes without adding fault tolerance.
    /// </summary>
    public const int MaxTotalShards = 20;

    /// <summary>A shard travels whole in one RPC frame: the default 4 MiB frame minus 64 KiB for the envelope.</summary>
    public const int MaxShardSize = (4 * 1024 * 1024) - (64 * 1024);

    /// <summary>Segments of one file at most (with the largest segments, 4 TiB).</summary>
    public const int MaxSegmentCount = 65_536;

    /// <summary>
    /// Signed manifest bytes at most: it travels as one DHT record (3 MiB), and a tombstone carries the whole
    /// manifest plus the owner's key and signature, which must fit there too.
    /// </summary>
    public const int MaxBytes = (3 * 1024 * 1024) - (16 * 1024);

    /// <summary>Room <see cref="MaxBytes"/> keeps for everything but the segment list (keys, signature, fields).</summary>
    private const int FixedBytesAllowance = 8 * 1024;

    /// <summary>Domain separation: an owner signature over a manifest can never pass for one over an operation.</summary>
    private static ReadOnlySpan<byte> SignatureContext => "ZenTalk manifest v1\0"u8;

    private static readonly MessageParser<SignedManifest> SignedParser =
        SignedManifest.Parser.WithDiscardUnknownFields(true);

    private static readonly MessageParser<ManifestBody> BodyParser =
        ManifestBody.Parser.WithDiscardUnknownFields(true);

    private readonly ManifestBody _body;

    private Manifest(byte[] bytes, ManifestBody body, OwnerPublicKey owner)
    {
        Bytes = bytes;
        _body = body;
        Owner = owner;
        Cid = Cid.Compute(bytes);
        Salt = body.Cipher.Salt.ToByteArray();
    }

    /// <summary>The signed manifest bytes, as stored and hashed.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public Cid Cid { get; }

    public OwnerPublicKey Owner { get; }

    public long PlaintextSize => (long)_body.PlaintextSize;

    public int SegmentSize => (int)_body.SegmentSize;

    public int DataShards => (int)_body.DataShards;

    public int ParityShards => (int)_body.ParityShards;

    public int TotalShards => DataShards + ParityShards;

    public int SegmentCount => _body.Segments.Count;

    public ReadOnlyMemory<byte> Salt { get; }

    public DateTimeOffset CreatedAt => DateTimeOffset.FromUnixTimeMilliseconds(_body.CreatedUnixMs);

    public DateTimeOffset? ExpiresAt => _body.ExpiresUnixMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(_body.ExpiresUnixMs);

    public int ShardSize(int segment) => (int)_body.Segments[segment].ShardSize;

    /// <summary>
    /// Bytes one segment needs while it is decoded or rebuilt: all k + m shards of a full segment. At most
    /// <see cref="MaxTotalShards"/> × <see cref="MaxShardSize"/> (79 MiB); a node's decode budget may allow less.
    /// </summary>
    public int SegmentBufferSize => SegmentBufferSizeFor(SegmentSize, DataShards, TotalShards);

    /// <summary>The buffer a segment of these parameters needs (checked arithmetic; within the bounds it fits an int).</summary>
    public static int SegmentBufferSizeFor(int segmentSize, int dataShards, int totalShards) =>
        checked(ShardSizeFor(segmentSize, dataShards) * totalShards);

    /// <summary>
    /// The most segments a manifest with <paramref name="totalShards"/> shards per segment can list and still fit in
    /// <see cref="MaxBytes"/> (conservative: 12 bytes of field overhead per segment, 8 KiB for the rest).
    /// </summary>
    public static int MaxSegmentsFor(int totalShards) =>
        Math.Min(MaxSegmentCount, (MaxBytes - FixedBytesAllowance) / ((totalShards * Sha256Hash.Size) + 12));

    public Sha256Hash ShardHash(int segment, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, TotalShards);
        return new Sha256Hash(_body.Segments[segment].ShardHashes.Span.Slice(shard * Sha256Hash.Size, Sha256Hash.Size));
    }

    public long SegmentPlaintextLength(int segment) => SegmentPlaintextLength(PlaintextSize, SegmentSize, segment);

    /// <summary>Segments of a file: ceil(size / segmentSize), but at least one so that an empty file is authenticated too.</summary>
    public static int SegmentCountFor(long plaintextSize, int segmentSize) =>
        plaintextSize == 0 ? 1 : checked((int)((plaintextSize + segmentSize - 1) / segmentSize));

    public static long SegmentPlaintextLength(long plaintextSize, int segmentSize, int segment)
    {
        var start = (long)segment * segmentSize;
        return Math.Min(segmentSize, plaintextSize - start);
    }

    /// <summary>Each shard of a segment holds ceil((plaintext + tag) / k) bytes; the last data shard is zero-padded.</summary>
    public static int ShardSizeFor(long segmentPlaintextLength, int dataShards) =>
        checked((int)((segmentPlaintextLength + SegmentCipher.TagSize + dataShards - 1) / dataShards));

    /// <summary>Signs a body (which must already be complete and valid) with the owner key.</summary>
    /// <exception cref="ArgumentException">The body breaks a manifest rule, or names another owner key.</exception>
    public static Manifest Sign(ManifestBody body, OwnerKey owner)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(owner);
        if (!body.OwnerPublicKey.Span.SequenceEqual(owner.PublicKey.SubjectPublicKeyInfo))
        {
            throw new ArgumentException("The manifest names a different owner public key than the signing key.", nameof(body));
        }

        try
        {
            Validate(body);
        }
        catch (IntegrityException e)
        {
            throw new ArgumentException("The manifest body is invalid: " + e.Message, nameof(body), e);
        }

        var bodyBytes = body.ToByteArray();
        var signed = new SignedManifest
        {
            Body = ByteString.CopyFrom(bodyBytes),
            Signature = ByteString.CopyFrom(owner.Sign(SignedPayload(bodyBytes))),
        };
        var bytes = signed.ToByteArray();
        if (bytes.Length > MaxBytes)
        {
            throw new ArgumentException($"The manifest would be {bytes.Length} bytes; at most {MaxBytes} fit in a record. Use larger segments.", nameof(body));
        }

        return new Manifest(bytes, body, owner.PublicKey);
    }

    /// <summary>
    /// Opens manifest bytes fetched by <paramref name="expected"/>: the bytes must hash to the CID, be in canonical
    /// form, follow every structural rule and carry a valid owner signature.
    /// </summary>
    /// <exception cref="IntegrityException">Any check failed; nothing of the manifest should be used.</exception>
    public static Manifest Open(ReadOnlyMemory<byte> bytes, Cid expected)
    {
        if (!expected.Matches(bytes.Span))
        {
            throw new IntegrityException($"The manifest bytes do not hash to {expected}: they are not the manifest that CID names.");
        }

        return Open(bytes);
    }

    /// <summary>Opens manifest bytes whose CID is not known in advance (it is computed); same checks otherwise.</summary>
    /// <exception cref="IntegrityException">Any check failed.</exception>
    public static Manifest Open(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length > MaxBytes)
        {
            throw new IntegrityException($"The manifest is {bytes.Length} bytes; at most {MaxBytes} are allowed.");
        }

        SignedManifest signed;
        ManifestBody body;
        try
        {
            signed = SignedParser.ParseFrom(bytes.Span);
            body = BodyParser.ParseFrom(signed.Body.Span);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new IntegrityException("The manifest is not a valid protobuf SignedManifest.", e);
        }

        // Canonical form: one byte sequence per manifest, so a manifest has exactly one CID.
        if (!signed.ToByteArray().AsSpan().SequenceEqual(bytes.Span) || !body.ToByteArray().AsSpan().SequenceEqual(signed.Body.Span))
        {
            throw new IntegrityException("The manifest is not in canonical form (field order, defaults or unknown fields).");
        }

        Validate(body);
        var owner = OwnerPublicKey.FromSubjectPublicKeyInfo(body.OwnerPublicKey.Span);
        if (!owner.Verify(SignedPayload(signed.Body.Span), signed.Signature.Span))
        {
            throw new IntegrityException($"The manifest's owner signature does not verify against its owner key {owner.Id}.");
        }

        return new Manifest(bytes.ToArray(), body, owner);
    }

    internal static byte[] SignedPayload(ReadOnlySpan<byte> body)
    {
        var payload = new byte[SignatureContext.Length + body.Length];
        SignatureContext.CopyTo(payload);
        body.CopyTo(payload.AsSpan(SignatureContext.Length));
        return payload;
    }

    /// <summary>The structural rules of format version 1 (see docs/formats.md).</summary>
    private static void Validate(ManifestBody body)
    {
        static void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new IntegrityException("Invalid manifest: " + what + ".");
            }
        }

        Require(body.FormatVersion == FormatVersion, $"format version {body.FormatVersion} is not supported (this reader knows {FormatVersion})");
        // Every bound is checked before any of these numbers is used (in 64-bit arithmetic: a hostile manifest picks them).
        Require(body.SegmentSize is >= MinSegmentSize and <= MaxSegmentSize, $"segment size {body.SegmentSize} is outside {MinSegmentSize}..{MaxSegmentSize}");
        Require(body.DataShards >= 1 && body.ParityShards >= 1 && body.DataShards + (ulong)body.ParityShards <= MaxTotalShards,
            $"erasure parameters k = {body.DataShards}, m = {body.ParityShards} out of range (k, m >= 1, k + m <= {MaxTotalShards})");
        var segmentSize = (int)body.SegmentSize;
        var fullShard = (segmentSize + (long)SegmentCipher.TagSize + body.DataShards - 1) / body.DataShards;
        Require(fullShard <= MaxShardSize, $"a full segment's shards would be {fullShard} bytes; at most {MaxShardSize} fit in one frame");
        Require(body.PlaintextSize <= (ulong)MaxSegmentCount * body.SegmentSize, $"plaintext size {body.PlaintextSize} needs more than {MaxSegmentCount} segments of {segmentSize} bytes");
        Require(body.Cipher is { Algorithm: CipherAlgorithmAesGcmHkdf, TagSize: SegmentCipher.TagSize }
            && body.Cipher.Salt.Length == SegmentCipher.SaltSize, "unsupported cipher parameters");
        Require(body.CreatedUnixMs is >= 0 and <= 253402300799999 && body.ExpiresUnixMs is >= 0 and <= 253402300799999, "timestamps out of range");
        var size = (long)body.PlaintextSize;
        var expectedSegments = size == 0 ? 1 : (size + segmentSize - 1) / segmentSize;
        Require(body.Segments.Count == expectedSegments, $"{body.Segments.Count} segments where the sizes call for {expectedSegments}");
        var total = (int)(body.DataShards + body.ParityShards);
        for (var i = 0; i < body.Segments.Count; i++)
        {
            var segment = body.Segments[i];
            if (segment.ShardSize != ShardSizeFor(SegmentPlaintextLength(size, segmentSize, i), (int)body.DataShards))
            {
                Require(false, $"segment {i} has a wrong shard size");
            }

            if (segment.ShardHashes.Length != total * Sha256Hash.Size)
            {
                Require(false, $"segment {i} does not list {total} shard hashes");
            }
        }
    }
}
