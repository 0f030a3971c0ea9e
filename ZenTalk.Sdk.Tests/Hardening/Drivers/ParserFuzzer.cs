using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Format.Proto;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// Fuzzes the parsers of untrusted text and bytes in the Format layer: <see cref="Cid"/> (TryParse never throws,
/// Parse throws only <see cref="FormatException"/>, an accepted text is the canonical form of what it parsed to) and
/// <see cref="Manifest.Open(ReadOnlyMemory{byte})"/> (throws only <see cref="IntegrityException"/>, and never accepts
/// bytes other than the signed original: a mutation that opens would be a forgery).
/// </summary>
internal static class ParserFuzzer
{
    private const string Base32 = "abcdefghijklmnopqrstuvwxyz234567";

    public static FuzzReport RunCid(int seed, long cases)
    {
        var report = new FuzzReport("Cid.Parse/TryParse");
        var m = new Mutator(seed);
        var digest = new byte[32];
        for (long i = 0; i < cases; i++)
        {
            m.Random.NextBytes(digest);
            var valid = Cid.FromDigest(new Sha256Hash(digest)).ToString();
            string text;
            switch (m.Random.Next(5))
            {
                case 0:
                    var chars = valid.ToCharArray();
                    for (int j = 1 + m.Random.Next(3); j > 0; j--)
                        chars[m.Random.Next(chars.Length)] = m.Random.Next(3) == 0 ? (char)m.Random.Next(0x10000) : Base32[m.Random.Next(32)];
                    text = new string(chars);
                    break;
                case 1:
                    text = valid[..m.Random.Next(valid.Length)] + (m.Random.Next(2) == 0 ? "" : Base32[m.Random.Next(32)].ToString());
                    break;
                case 2:
                    text = m.Random.Next(2) == 0 ? valid.ToUpperInvariant() : " " + valid;
                    break;
                case 3:
                    text = System.Text.Encoding.Latin1.GetString(m.Mutate(System.Text.Encoding.ASCII.GetBytes(valid)));
                    break;
                default:
                    text = "zt" + new string(Enumerable.Range(0, 55).Select(_ => Base32[m.Random.Next(32)]).ToArray());
                    break;
            }
            var input = System.Text.Encoding.UTF8.GetBytes(text);
            try
            {
                bool ok = Cid.TryParse(text, out var cid);
                Cid parsed = default;
                bool parseOk;
                try
                {
                    parsed = Cid.Parse(text);
                    parseOk = true;
                }
                catch (FormatException)
                {
                    parseOk = false;
                }
                if (ok != parseOk || (ok && (parsed != cid || cid.ToString() != text)))
                {
                    report.Crash("Cid.Parse and TryParse disagree, or a non-canonical text was accepted: " + text);
                    continue;
                }
                report.Count(ok ? "accepted" : "refused");
            }
            catch (Exception ex)
            {
                report.Crash(ex, input);
            }
        }
        return report;
    }

    public static FuzzReport RunManifest(int seed, long cases)
    {
        var report = new FuzzReport("Manifest.Open");
        var m = new Mutator(seed);
        using var owner = OwnerKey.Generate(2048);
        var originals = new[] { 1_000L, 10_000L, 100_000L }
            .Select(size => Manifest.Sign(Body(owner, size, m.Random), owner).Bytes.ToArray()).ToList();
        foreach (var o in originals) Manifest.Open(o); // the seeds themselves open
        for (long i = 0; i < cases; i++)
        {
            var original = originals[m.Random.Next(originals.Count)];
            var input = m.Random.Next(20) == 0 ? m.RandomBytes(400) : m.Mutate(original, originals[m.Random.Next(originals.Count)]);
            try
            {
                var opened = Manifest.Open(input);
                if (!originals.Any(o => o.AsSpan().SequenceEqual(input)))
                {
                    report.Crash("Manifest.Open accepted bytes that differ from every signed manifest: " + Convert.ToHexString(input.AsSpan(0, Math.Min(64, input.Length))));
                    continue;
                }
                report.Count(opened.Cid == Cid.Compute(input) ? "original" : "CRASH-cid");
            }
            catch (IntegrityException)
            {
                report.Count("IntegrityException");
            }
            catch (Exception ex)
            {
                report.Crash(ex, input);
            }
        }
        return report;
    }

    /// <summary>A manifest body with random shard hashes (no checks: any parameters, as an attacker would choose).</summary>
    internal static ManifestBody Body(OwnerKey owner, long size, Random random, int segmentSize = 4096, int k = 10, int p = 5)
    {
        var body = new ManifestBody
        {
            FormatVersion = 1,
            PlaintextSize = (ulong)size,
            SegmentSize = (uint)segmentSize,
            DataShards = (uint)k,
            ParityShards = (uint)p,
            Cipher = new CipherParameters { Algorithm = 1, Salt = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(16)), TagSize = 16 },
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            CreatedUnixMs = 1_767_225_600_000,
        };
        for (var i = 0; i < Manifest.SegmentCountFor(size, segmentSize); i++)
        {
            var hashes = new byte[(k + p) * 32];
            random.NextBytes(hashes);
            body.Segments.Add(new SegmentEntry
            {
                ShardSize = (uint)Manifest.ShardSizeFor(Manifest.SegmentPlaintextLength(size, segmentSize, i), k),
                ShardHashes = ByteString.CopyFrom(hashes),
            });
        }
        return body;
    }
}
