using System.Text.RegularExpressions;

namespace ZenTalk.Sdk.Tests.Docs;

/// <summary>
/// The docs say what is true now, with the command that shows it; the history of how it got there lives in git. So
/// a page names no commit, and the results pages stay short enough to read.
/// </summary>
public partial class DocPageTests
{
    /// <summary>The results pages and the most lines each may have.</summary>
    private static readonly (string Page, int MaxLines)[] ResultsPages = [("docs/benchmarks.md", 250), ("docs/reliability.md", 250)];

    // A 7-40 digit run of lower-case hex with at least one letter and one digit, standing alone: what `git log --oneline`
    // and `git rev-parse` print. Plain numbers (67108864) and words (decade) are not commits.
    [GeneratedRegex(@"(?<![0-9A-Za-z_])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![0-9A-Za-z_])")]
    private static partial Regex CommitLike();

    [Test]
    public void No_page_names_a_commit()
    {
        var root = DocPages.RepositoryRoot();
        var found = new List<string>();
        foreach (var path in DocPages.All(root))
        {
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
                foreach (Match m in CommitLike().Matches(lines[i]))
                    found.Add($"{DocPages.Name(root, path)}:{i + 1}: {m.Value}");
        }
        Assert.That(found, Is.Empty, "commit hashes belong in git, not in the docs:\n" + string.Join('\n', found));
    }

    [Test]
    public void The_results_pages_stay_short()
    {
        var root = DocPages.RepositoryRoot();
        foreach (var (page, maxLines) in ResultsPages)
            Assert.That(File.ReadAllLines(Path.Combine(root, page)), Has.Length.LessThanOrEqualTo(maxLines),
                $"{page}: one table per area with its command; history goes in commit messages");
    }

    // `HostileDhtTests`, `RpcLimitsTests.A_prefix_...`, and the "…A_method_name" shorthand the tables use for another
    // test of the class just named.
    [GeneratedRegex(@"\b(?<class>[A-Z][A-Za-z0-9]*Tests)\b(\.(?<method>[A-Za-z0-9_]+))?|…(?<method>[A-Z][A-Za-z0-9]*_[A-Za-z0-9_]+)")]
    private static partial Regex TestReference();

    [Test]
    public void Every_test_a_page_names_exists()
    {
        var root = DocPages.RepositoryRoot();
        var source = string.Join('\n', new[] { "ZenTalk.Sdk.Tests", "tests" }
            .Select(d => Path.Combine(root, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(File.ReadAllText));
        var missing = new List<string>();
        var named = 0;
        foreach (var path in DocPages.All(root))
        {
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
                foreach (Match m in TestReference().Matches(lines[i]))
                {
                    named++;
                    var cls = m.Groups["class"];
                    if (cls.Success && !Regex.IsMatch(source, $@"\bclass {cls.Value}\b"))
                        missing.Add($"{DocPages.Name(root, path)}:{i + 1}: class {cls.Value}");
                    var method = m.Groups["method"];
                    if (method.Success && method.Value.Contains('_') && !Regex.IsMatch(source, $@"\b{method.Value}\s*\("))
                        missing.Add($"{DocPages.Name(root, path)}:{i + 1}: test {method.Value}");
                }
        }
        Assert.That(named, Is.GreaterThan(50), "the pages' references to tests were found");
        Assert.That(missing, Is.Empty, "the docs name tests that no longer exist (renamed or removed?):\n" + string.Join('\n', missing));
    }

    [TestCase("at commit 774212f, load 2", ExpectedResult = new[] { "774212f" })]
    [TestCase("fixed in c5ccfcb and 1d053eb4a2", ExpectedResult = new[] { "c5ccfcb", "1d053eb4a2" })]
    [TestCase("67108864 bytes, a decade, 0x11D, sha 5f0c…, shard 1a2b3c", ExpectedResult = new string[0])]
    [TestCase("a SHA-256 of 64 hex: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ExpectedResult = new string[0])]
    public string[] What_counts_as_a_commit(string text) => [.. CommitLike().Matches(text).Select(m => m.Value)];
}
