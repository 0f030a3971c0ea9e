using System.Buffers;
using System.Numerics;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// Turns shards back into the plaintext of a verified <see cref="Manifest"/>: per segment, fetch shards (data
/// shards first), keep only those whose SHA-256 matches the manifest, rebuild missing data shards from any k valid
/// ones, then authenticate and decrypt. A segment that fails is never released, not even in part.
/// <para>
/// With <see cref="FileCodecOptions.VerifyByTag"/> (a reader that is the content key's only holder), the first try at a
/// segment skips the shard hashes and lets the GCM tag decide; a tag that fails sends the segment through the checked
/// path above.
/// </para>
/// </summary>
internal sealed class FileDecoder
{
    private readonly Manifest _manifest;
    private readonly ContentKey _key;
    private readonly IShardSource _source;
    private readonly FileCodecOptions _options;
    private readonly ReedSolomon _codec;
    private readonly int _depth;

    /// <exception cref="MeshStorageException">One segment of the file needs more memory than the whole budget allows.</exception>
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
        _depth = Math.Clamp(_options.MaxSegmentsInFlight, 1, manifest.SegmentCount);
        if (_options.MemoryBudget is { } budget)
        {
            // Checked before anything is allocated: the manifest, not this node, chose the segment's size.
            if (SlotCost > budget.Capacity)
            {
                throw new MeshStorageException(
                    $"File {manifest.Cid} needs {SlotCost / (1024 * 1024)} MiB per segment to decode ({manifest.TotalShards} shards of {Manifest.ShardSizeFor(manifest.SegmentSize, manifest.DataShards)} bytes); " +
                    $"this node's decode budget (MaxDecodeMemoryBytes) is {budget.Capacity / (1024 * 1024)} MiB. Raise it to read this file.");
            }

            _depth = (int)Math.Min(_depth, budget.Capacity / SlotCost);
        }

        _codec = new ReedSolomon(manifest.DataShards, manifest.ParityShards);
    }

    public Manifest Manifest => _manifest;

    /// <summary>A read-only stream of the plaintext; it decodes segments ahead of the reader, a few at a time.</summary>
    public Stream OpenRead() => new FileDecodingStream(this, _depth, _options.MemoryBudget);

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

    internal int SegmentBufferSize => _manifest.SegmentBufferSize;

    /// <summary>What one segment buffer costs the budget.</summary>
    internal long SlotCost => BufferCost(SegmentBufferSize);

    /// <summary>What a pooled buffer of <paramref name="bytes"/> costs a memory budget: the array the pool hands out, a power of two.</summary>
    internal static long BufferCost(int bytes) => BitOperations.RoundUpToPowerOf2((uint)bytes);

    internal SegmentCipher CreateCipher() => new(_key, _manifest.Salt.Span);

    /// <summary>Decodes segment <paramref name="index"/> into <paramref name="buffer"/>; returns its plaintext length.</summary>
    internal async Task<int> DecodeSegmentAsync(int index, byte[] buffer, SegmentCipher cipher, CancellationToken cancellationToken)
    {
        if (_options.VerifyByTag)
        {
            try
            {
                return await DecodeSegmentOnceAsync(index, buffer, cipher, hashShards: false, cancellationToken).ConfigureAwait(false);
            }
            catch (IntegrityException)
            {
                // A bad shard (or the wrong key): decryption zeroed the buffer, so the segment is fetched again, and this
                // time every shard is checked against the manifest, which finds the bad copies and skips them.
                _options.VerifiedAgain?.Invoke();
            }
        }

        return await DecodeSegmentOnceAsync(index, buffer, cipher, hashShards: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One try at a segment; with <paramref name="hashShards"/> false, shards count as valid without their hash
    /// check, and only the segment's tag vouches for them.</summary>
    private async Task<int> DecodeSegmentOnceAsync(int index, byte[] buffer, SegmentCipher cipher, bool hashShards, CancellationToken cancellationToken)
    {
        var k = _manifest.DataShards;
        var n = _manifest.TotalShards;
        var shardSize = _manifest.ShardSize(index);
        var plaintextLength = (int)_manifest.SegmentPlaintextLength(index);
        var shards = new Memory<byte>[n];
        for (var j = 0; j < n; j++)
        {
            shards[j] = buffer.AsMemory(j * shardSize, shardSize);
        }

        // Ask for exactly the shards still needed, all at once (data shards first, so the common case needs no
        // rebuild); each failure pulls in the next candidate. Sources may be remote, so requests overlap.
        var present = new bool[n];
        var valid = 0;
        var rejected = 0;
        var nextCandidate = 0;
        while (valid < k && nextCandidate < n)
        {
            var batch = Math.Min(k - valid, n - nextCandidate);
            var fetches = new Task<FetchResult>[batch];
            for (var b = 0; b < batch; b++)
            {
                fetches[b] = FetchAsync(index, nextCandidate + b, shards[nextCandidate + b], hashShards, cancellationToken);
            }

            nextCandidate += batch;
            foreach (var result in await Task.WhenAll(fetches).ConfigureAwait(false))
            {
                switch (result.Outcome)
                {
                    case FetchOutcome.Valid:
                        present[result.Shard] = true;
                        valid++;
                        break;
                    case FetchOutcome.Rejected:
                        rejected++;
                        break;
                }
            }
        }

        if (valid < k)
        {
            throw new ShardsUnavailableException(
                $"Segment {index} of {_manifest.Cid}: only {valid} valid shards of the {k} needed ({rejected} failed their hash check, {n - valid - rejected} unavailable).")
            {
                Cid = _manifest.Cid, SegmentIndex = index, ShardsFound = valid, ShardsNeeded = k,
            };
        }

        for (var j = 0; j < k; j++)
        {
            if (!present[j])
            {
                _codec.ReconstructData(shards, present);
                break;
            }
        }

        var sealedLength = plaintextLength + SegmentCipher.TagSize;
        cipher.Decrypt(index, index == _manifest.SegmentCount - 1, buffer.AsSpan(0, sealedLength), buffer.AsSpan(0, plaintextLength));
        return plaintextLength;
    }

    private async Task<FetchResult> FetchAsync(int segment, int shard, Memory<byte> destination, bool hashShard, CancellationToken cancellationToken)
    {
        var hash = _manifest.ShardHash(segment, shard);
        bool got;
        try
        {
            got = await _source.ReadShardAsync(segment, shard, hash, destination, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or MeshStorageException)
        {
            got = false;
        }

        // Verify before use: sources are untrusted, and a shard that fails is simply not counted.
        return new FetchResult(shard, !got ? FetchOutcome.Unavailable : !hashShard || hash.Matches(destination.Span) ? FetchOutcome.Valid : FetchOutcome.Rejected);
    }

    private enum FetchOutcome
    {
        Unavailable,
        Valid,
        Rejected,
    }

    private readonly record struct FetchResult(int Shard, FetchOutcome Outcome);

    internal static byte[] RentBuffer(int size) => ArrayPool<byte>.Shared.Rent(size);

    /// <summary>
    /// Clears the bytes a segment used (they held plaintext) and gives the buffer back. Only those: the pool rounds a
    /// 1.5 MiB request up to 2 MiB, and clearing the whole array would touch the quarter that was never written.
    /// </summary>
    internal void ReturnBuffer(byte[] buffer)
    {
        buffer.AsSpan(0, SegmentBufferSize).Clear();
        ArrayPool<byte>.Shared.Return(buffer);
    }
}
