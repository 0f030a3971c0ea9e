using System.Globalization;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// The disk floors of the mesh benchmarks write shards durably into one directory per holder, as the 15 nodes of the
/// benchmark mesh do; this makes those directories under a root and removes them again.
/// </summary>
internal sealed class FloorDirectories : IDisposable
{
    private readonly string _root;

    public FloorDirectories(string root, int holders = 15)
    {
        _root = Path.Combine(root, "zentalk-bench-floor-" + Guid.NewGuid().ToString("N"));
        Holders = Enumerable.Range(0, holders)
            .Select(i => Directory.CreateDirectory(Path.Combine(_root, i.ToString(CultureInfo.InvariantCulture))).FullName)
            .ToArray();
    }

    /// <summary>One directory per holder.</summary>
    public string[] Holders { get; }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
