namespace ZenTalk.Sdk.Tests.Docs;

/// <summary>The Markdown pages the doc tests read: README.md and docs/*.md of the checkout the tests were built from.</summary>
internal static class DocPages
{
    /// <summary>The checkout: the directory above the test's output holding the solution.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ZenTalk.Sdk.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no ZenTalk.Sdk.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Full paths of README.md and docs/*.md, in a stable order.</summary>
    public static IReadOnlyList<string> All(string root) =>
        [Path.Combine(root, "README.md"), .. Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal)];

    /// <summary>A page's path as the docs and errors name it (README.md, docs/erasure.md).</summary>
    public static string Name(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
