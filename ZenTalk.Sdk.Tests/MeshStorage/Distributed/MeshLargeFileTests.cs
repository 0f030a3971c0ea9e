using System.Globalization;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.MeshStorage.Format;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// A 2 GB stream stored into and retrieved from a 15-node loopback mesh with bounded memory. Explicit (about 3 GB of
/// shards on disk and a few minutes): run with
/// <c>dotnet test ZenTalk.Sdk.Tests -c Release --filter "FullyQualifiedName~MeshLargeFileTests"</c>.
/// </summary>
[TestFixture]
[Explicit("Stores 2 GB (3 GB of shards on disk); run on purpose.")]
public class MeshLargeFileTests
{
    private const long Size = 2_000_000_000;

    [Test]
    [CancelAfter(1_800_000)]
    public async Task A_2_GB_stream_is_stored_and_retrieved_with_bounded_memory(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(15, new LocalMeshOptions { Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } } }, cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate();
        using var source = new PatternStream(Size, 7);
        var expected = SHA256.Create();
        var hashing = new CryptoStream(source, expected, CryptoStreamMode.Read, leaveOpen: true);

        GC.Collect();
        long before = ResetPeakKb();
        var stored = await mesh.Nodes[0].Store.StoreAsync(hashing, owner, cancellationToken: cancellationToken);
        long storePeak = ReadKb("VmHWM:");
        Assert.That(stored.Size, Is.EqualTo(Size));

        GC.Collect();
        long beforeRead = ResetPeakKb();
        var actual = SHA256.Create();
        await using (var stream = await mesh.Nodes[8].Store.RetrieveAsync(stored.Cid, stored.ContentKey, cancellationToken))
        await using (var sink = new CryptoStream(Stream.Null, actual, CryptoStreamMode.Write))
            await stream.CopyToAsync(sink, cancellationToken);
        long readPeak = ReadKb("VmHWM:");

        Assert.That(actual.Hash, Is.EqualTo(expected.Hash));
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"2 GB through a 15-node mesh: store RSS {before / 1024.0:F0} MiB -> peak {storePeak / 1024.0:F0} MiB; retrieve RSS {beforeRead / 1024.0:F0} MiB -> peak {readPeak / 1024.0:F0} MiB"));
        // Bounded: the whole mesh (15 nodes, their connections and buffers) stays far below the file's size.
        Assert.That(storePeak - before, Is.LessThan(1024 * 1024), "store grew the process by less than 1 GiB");
        Assert.That(readPeak - beforeRead, Is.LessThan(1024 * 1024), "retrieve grew the process by less than 1 GiB");
    }

    private static long ResetPeakKb()
    {
        File.WriteAllText("/proc/self/clear_refs", "5");
        return ReadKb("VmRSS:");
    }

    private static long ReadKb(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
