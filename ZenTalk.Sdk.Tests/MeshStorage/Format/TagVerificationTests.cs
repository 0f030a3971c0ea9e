using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Erasure;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Sdk.Tests.MeshStorage.Format;

/// <summary>
/// The decoder's read for a content key's sole holder (<see cref="FileCodecOptions.VerifyByTag"/>,
/// <see cref="RetrieveOptions.SoleKeyHolder"/>): segments verified by their GCM tag, shard hashes only after a tag fails.
/// </summary>
public class TagVerificationTests
{
    private const int Small = 4096;
    private static readonly Lazy<OwnerKey> Owner = new(() => OwnerKey.Generate(2048));

    /// <summary>A file of <paramref name="size"/> random bytes under a new key, encoded into shards in memory.</summary>
    private static async Task<(byte[] Data, ContentKey Key, Manifest Manifest, MemoryShards Shards)> EncodeAsync(int size)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        var key = ContentKey.Generate();
        var shards = new MemoryShards();
        var manifest = await new FileEncoder(new FileCodecOptions { SegmentSize = Small }).EncodeAsync(new MemoryStream(data), key, Owner.Value, shards);
        return (data, key, manifest, shards);
    }

    /// <summary>Decodes with tag verification (or without), counting the segments read again with their shards checked.</summary>
    private static async Task<(byte[] Output, int VerifiedAgain)> DecodeAsync(Manifest manifest, ContentKey key, IShardSource source, bool byTag = true)
    {
        int again = 0;
        var options = new FileCodecOptions { SegmentSize = Small, MaxSegmentsInFlight = 3, VerifyByTag = byTag, VerifiedAgain = () => Interlocked.Increment(ref again) };
        var output = new MemoryStream();
        await new FileDecoder(manifest, key, source, options).DecodeToAsync(output);
        return (output.ToArray(), again);
    }

    [Test]
    public async Task Intact_shards_decode_byte_for_byte_without_a_second_read()
    {
        var (data, key, manifest, shards) = await EncodeAsync((7 * Small) + 99);
        var (output, again) = await DecodeAsync(manifest, key, shards);
        Assert.That(output, Is.EqualTo(data));
        Assert.That(again, Is.Zero);
    }

    [Test]
    public async Task A_holder_without_the_key_cannot_get_altered_bytes_past_the_tag()
    {
        // Altered, swapped and missing shards in some segments: each segment whose tag fails is read again with every
        // shard checked, the bad copies are skipped, and the output is the file, exactly.
        var (data, key, manifest, shards) = await EncodeAsync((8 * Small) + 1);
        shards.Shards[(1, 3)][0] ^= 0x01;                                  // one flipped bit in a data shard
        shards.Shards[(4, 9)][manifest.ShardSize(4) / 2] ^= 0x80;          // the last data shard, inside the sealed bytes
        shards.Shards[(6, 2)] = (byte[])shards.Shards[(6, 5)].Clone();     // another valid shard of the same segment
        shards.Shards.TryRemove((7, 0), out _);                            // missing: rebuilt from parity, not a tag failure
        shards.Shards[(8, 0)][0] ^= 0x01;                                  // the short last segment
        for (int j = 10; j < 13; j++) shards.Shards[(1, j)][7] ^= 0x10;    // and some of segment 1's parity lies too

        var (output, again) = await DecodeAsync(manifest, key, shards);
        Assert.That(output, Is.EqualTo(data));
        Assert.That(again, Is.EqualTo(4), "segments 1, 4, 6 and 8 failed their tag once; segment 7 did not");
    }

    [Test]
    public async Task Too_many_bad_shards_fail_as_the_checked_read_fails()
    {
        var (_, key, manifest, shards) = await EncodeAsync(3 * Small);
        for (int j = 0; j < 6; j++) shards.Shards[(1, j * 2)][0] ^= 0x01;
        var ex = Assert.ThrowsAsync<ShardsUnavailableException>(() => DecodeAsync(manifest, key, shards));
        Assert.That(ex!.Message, Does.Contain("Segment 1").And.Contain("6 failed their hash check"));
    }

    [Test]
    public async Task Wrong_key_fails_authentication_after_the_checked_read_and_releases_nothing()
    {
        var (_, _, manifest, shards) = await EncodeAsync(3 * Small);
        int again = 0;
        var output = new MemoryStream();
        var decoder = new FileDecoder(manifest, ContentKey.Generate(), shards,
            new FileCodecOptions { SegmentSize = Small, VerifyByTag = true, VerifiedAgain = () => Interlocked.Increment(ref again) });
        Assert.ThrowsAsync<IntegrityException>(() => decoder.DecodeToAsync(output));
        Assert.That(output.Length, Is.Zero);
        Assert.That(again, Is.GreaterThanOrEqualTo(1), "the tag failure sent the segment through the checked read first");
    }

    [Test]
    public async Task Another_holder_of_the_key_can_seal_other_bytes_that_only_the_tag_read_accepts()
    {
        // What the option gives up, shown: whoever else holds the key seals new bytes into segment 1 with the file's
        // own nonce and AAD. The default read refuses them (no shard matches the signed manifest); the tag read takes
        // them. This is why the option is for a key's sole holder only.
        var (data, key, manifest, shards) = await EncodeAsync(3 * Small);
        var forged = RandomNumberGenerator.GetBytes(Small);
        int shardSize = manifest.ShardSize(1);
        var buffer = new byte[manifest.TotalShards * shardSize];
        using (var cipher = new SegmentCipher(key, manifest.Salt.Span))
        {
            cipher.Encrypt(1, last: false, forged, buffer.AsSpan(0, Small + SegmentCipher.TagSize));
        }

        var sealedShards = Enumerable.Range(0, manifest.TotalShards).Select(j => buffer.AsMemory(j * shardSize, shardSize)).ToArray();
        new ReedSolomon(manifest.DataShards, manifest.ParityShards).Encode(sealedShards);
        for (int j = 0; j < manifest.TotalShards; j++) shards.Shards[(1, j)] = sealedShards[j].ToArray();

        var ex = Assert.ThrowsAsync<ShardsUnavailableException>(() => DecodeAsync(manifest, key, shards, byTag: false));
        Assert.That(ex!.Message, Does.Contain("Segment 1").And.Contain("15 failed their hash check"));

        var (output, again) = await DecodeAsync(manifest, key, shards);
        Assert.That(output.AsSpan(0, Small).SequenceEqual(data.AsSpan(0, Small)), Is.True);
        Assert.That(output.AsSpan(Small, Small).SequenceEqual(forged), Is.True, "the tag read skipped the shard hashes");
        Assert.That(output.AsSpan(2 * Small).SequenceEqual(data.AsSpan(2 * Small)), Is.True);
        Assert.That(again, Is.Zero);
    }
}
