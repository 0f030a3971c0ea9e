using System.Buffers;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// Turns shards back into the plaintext of a verified <see cref="Manifest"/>: per segment, fetch shards (data
/// shards first), keep only those whose SHA-256 matches the manifest, rebuild missing data shards from any k valid
/// ones, then authenticate and decrypt. A segment that fails is never released, not even in part.
/// </summary>
internal sealed class FileDecoder
{
    private readonly Manifest _manifest;
    private readonly ContentKey _key;
    private readonly IShardSource _source;
    private readonly FileCodecOptions _options;
    private readonly ReedSolomon _codec;

    public FileDecoder(Manifest manifest, ContentKey key, IShardSource source, FileCodecOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(source);
        _manifest = manifest;
        _key = key;
        _source = source;
        _options = options ?? new FileCodecOptions();
        _options.Validate();
        _codec = new ReedSolomon(manifest.DataShards, manifest.ParityShards);
    }

    public Manifest Manifest => _manifest;

    /// <summary>A read-only stream of the plaintext; it decodes segments ahead of the reader, a few at a time.</summary>
    public Stream OpenRead() => new FileDecodingStream(this, Math.Max(1, _options.MaxSegmentsInFlight));

    /// <summary>Writes the whole plaintext to <paramref name="destination"/>.</summary>
    /// <exception cref="IntegrityException">Wrong key or tampered data: output stops before the bad segment.</exception>
    /// <exception cref="ShardsUnavailableException">Some segment had fewer than k valid shards.</exception>
    public async Task DecodeToAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var stream = OpenRead();
        await using (stream.ConfigureAwait(false))
        {
            await stream.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
        }
    }

    internal int SegmentBufferSize => Manifest.ShardSizeFor(_manifest.SegmentSize, _manifest.DataShards) * _manifest.TotalShards;

    internal SegmentCipher CreateCipher() => new(_key, _manifest.Salt.Span);

    /// <summary>Decodes segment <paramref name="index"/> into <paramref name="buffer"/>; returns its plaintext length.</summary>
    internal async Task<int> DecodeSegmentAsync(int index, byte[] buffer, SegmentCipher cipher, CancellationToken cancellationToken)
    {
        var k = _manifest.DataShards;
        var n = _manifest.TotalShards;
        var shardSize = _manifest.ShardSize(index);
        var plaintextLength = (int)_manifest.SegmentPlaintextLength(index);
        var shards = new Memory<byte>[n];
        var present = new bool[n];
        var valid = 0;
        var rejected = 0;
        for (var j = 0; j < n && valid < k; j++)
        {
            shards[j] = buffer.AsMemory(j * shardSize, shardSize);
            var hash = _manifest.ShardHash(index, j);
            bool got;
            try
            {
                got = await _source.ReadShardAsync(index, j, hash, shards[j], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or MeshStorageException)
            {
                got = false;
            }

            if (got && hash.Matches(shards[j].Span))
            {
                present[j] = true;
                valid++;
            }
            else if (got)
            {
                rejected++;
            }
        }

        if (valid < k)
        {
            throw new ShardsUnavailableException(
                $"Segment {index} of {_manifest.Cid}: only {valid} valid shards of the {k} needed ({rejected} failed their hash check, {n - valid - rejected} unavailable).");
        }

        for (var j = 0; j < n; j++)
        {
            shards[j] = buffer.AsMemory(j * shardSize, shardSize);
        }

        for (var j = 0; j < k; j++)
        {
            if (!present[j])
            {
                await Task.Run(() => _codec.ReconstructData(shards, present), cancellationToken).ConfigureAwait(false);
                break;
            }
        }

        var sealedLength = plaintextLength + SegmentCipher.TagSize;
        cipher.Decrypt(index, index == _manifest.SegmentCount - 1, buffer.AsSpan(0, sealedLength), buffer.AsSpan(0, plaintextLength));
        return plaintextLength;
    }

    internal static byte[] RentBuffer(int size) => ArrayPool<byte>.Shared.Rent(size);

    internal static void ReturnBuffer(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
}
