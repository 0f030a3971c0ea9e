namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>Deterministic test content and a helper to read a retrieved stream back whole.</summary>
internal static class MeshTestData
{
    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, cancellationToken);
            return copy.ToArray();
        }
    }

    /// <summary>Options for test clusters: short deadlines, no background repair (tests run passes explicitly).</summary>
    public static ZenTalk.MeshStorage.LocalMeshOptions FastOptions(int segmentSize = 64 * 1024) => new()
    {
        SegmentSize = segmentSize,
        RepairInterval = Timeout.InfiniteTimeSpan,
        FastTimeouts = true,
    };
}
