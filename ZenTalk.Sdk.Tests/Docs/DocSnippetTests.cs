using System.Diagnostics;
using System.Reflection;
using System.Runtime.Versioning;

namespace ZenTalk.Sdk.Tests.Docs;

/// <summary>
/// Every C# block of README.md and docs/*.md compiles against the three packages (the convention is on
/// <see cref="DocSnippets"/>), so the snippets cannot rot when the API changes.
/// </summary>
public class DocSnippetTests
{
    [Test]
    [CancelAfter(300_000)]
    public async Task Every_csharp_block_of_the_readme_and_docs_compiles_against_the_packages(CancellationToken cancellationToken)
    {
        var root = DocPages.RepositoryRoot();
        var snippets = DocPages.All(root).SelectMany(p => DocSnippets.Extract(DocPages.Name(root, p), File.ReadAllText(p))).ToList();
        var compiled = snippets.Where(s => s.SkipReason is null).ToList();
        foreach (var skipped in snippets.Where(s => s.SkipReason is not null))
            TestContext.Out.WriteLine($"skipped {skipped.Page}:{skipped.FenceLine}: {skipped.SkipReason}");
        Assert.That(compiled.Count(s => s.Page == "README.md"), Is.GreaterThanOrEqualTo(3), "the README's C# blocks were found");

        var (diagnostics, output) = await CompileInTempAsync(compiled, cancellationToken);
        TestContext.Out.WriteLine($"compiled {compiled.Count} blocks, skipped {snippets.Count - compiled.Count}");
        if (diagnostics.Count > 0) TestContext.Out.WriteLine(output);
        Assert.That(diagnostics, Is.Empty, "every snippet compiles:\n" + string.Join('\n', diagnostics));
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task A_snippet_that_does_not_compile_is_reported_at_its_page_and_line(CancellationToken cancellationToken)
    {
        const string page = """
            # A page

            ```csharp
            using ZenTalk.Storage;

            await using var store = await SqliteMessageStore.OpenAsync("messages.db");
            ```

            <!-- snippet: skip (shows only a shape) -->
            ```cs
            this is not C#
            ```

            ```c#
            var page = await store.GetMessagesAsync("chat", limit: 50);
            ```
            """;
        var snippets = DocSnippets.Extract("docs/broken.md", page);
        Assert.That(snippets.Select(s => (s.FenceLine, s.SkipReason)), Is.EqualTo(new (int, string?)[] { (3, null), (10, "shows only a shape"), (14, null) }));

        var (diagnostics, _) = await CompileInTempAsync(snippets.Where(s => s.SkipReason is null).ToList(), cancellationToken);
        // `store` belongs to the first block: each block stands alone, so the third one does not compile.
        Assert.That(diagnostics, Has.Count.EqualTo(1));
        Assert.That(diagnostics[0], Does.StartWith("docs/broken.md(15,18): error CS0103"));
    }

    [Test]
    public void A_skip_marker_without_a_reason_is_refused()
    {
        Assert.That(() => DocSnippets.Extract("docs/x.md", "<!-- snippet: skip -->\n```csharp\nx\n```\n"),
            Throws.TypeOf<FormatException>().With.Message.Contains("must say why"));
        Assert.That(() => DocSnippets.Extract("docs/x.md", "```csharp\nx\n"),
            Throws.TypeOf<FormatException>().With.Message.Contains("never closed"));
    }

    private static async Task<(IReadOnlyList<string> Diagnostics, string Output)> CompileInTempAsync(
        IReadOnlyList<DocSnippet> snippets, CancellationToken cancellationToken)
    {
        var work = Path.Combine(Path.GetTempPath(), "zentalk-doc-snippets-" + Guid.NewGuid().ToString("N"));
        var framework = typeof(DocSnippetTests).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;
        var moniker = "net" + new FrameworkName(framework).Version.ToString(2);
        var watch = Stopwatch.StartNew();
        try
        {
            return await DocSnippets.CompileAsync(snippets, work, moniker, DocSnippets.References(AppContext.BaseDirectory), cancellationToken);
        }
        finally
        {
            TestContext.Out.WriteLine($"dotnet build of {snippets.Count} snippets: {watch.Elapsed.TotalSeconds:F1} s");
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }
}
