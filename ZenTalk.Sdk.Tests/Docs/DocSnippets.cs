using System.Diagnostics;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.RegularExpressions;

namespace ZenTalk.Sdk.Tests.Docs;

/// <summary>A C# block of a Markdown page: where it is and its lines (without the fences).</summary>
internal sealed record DocSnippet(string Page, int FenceLine, IReadOnlyList<string> Lines, string? SkipReason);

/// <summary>
/// Extracts the C# blocks of Markdown pages and compiles them against the built packages, the way a reader would
/// paste them. The convention (README.md and docs/ follow it):
/// <list type="bullet">
/// <item>A block fenced with <c>```csharp</c>, <c>```cs</c> or <c>```c#</c> is compiled; other fences are not.</item>
/// <item>Its leading <c>using</c> directives are the file's; the rest is the body of an <c>async Task</c> method, with the
/// SDK's implicit usings (System, System.IO, System.Linq, System.Threading.Tasks, ...). So a block must declare what
/// it uses: a reader copies one block, not the page.</item>
/// <item>A block that cannot compile alone is preceded by <c>&lt;!-- snippet: skip (why) --&gt;</c> on the line before
/// its fence; the reason is required.</item>
/// </list>
/// The compilation is an ordinary <c>dotnet build</c> of a project generated in a temporary directory that references
/// the three package assemblies and their dependencies from the test's own output (a Roslyn package would be one more
/// dependency for what the SDK already does in a few seconds). <c>#line</c> directives make every error point at the
/// page and line it comes from.
/// </summary>
internal static partial class DocSnippets
{
    public static readonly string[] PackageAssemblies = ["ZenTalk.Storage", "ZenTalk.MeshStorage", "ZenTalk.Sdk"];

    [GeneratedRegex(@"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex CSharpFence();

    [GeneratedRegex(@"^\s*```")]
    private static partial Regex AnyFence();

    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*skip\b\s*(?<reason>.*?)\s*-->\s*$")]
    private static partial Regex SkipMarker();

    // "using X.Y;", "using static X.Y;", "using A = X.Y;" (not "using var x = ..." nor "using (...)").
    [GeneratedRegex(@"^\s*using\s+(static\s+)?[A-Za-z_][\w.]*(\s*=\s*[A-Za-z_][\w.<>, ]*)?\s*;\s*(//.*)?$")]
    private static partial Regex UsingDirective();

    /// <summary>Every C# block of <paramref name="markdown"/>; <paramref name="page"/> names the page in errors.</summary>
    public static IReadOnlyList<DocSnippet> Extract(string page, string markdown)
    {
        var lines = markdown.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var snippets = new List<DocSnippet>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!AnyFence().IsMatch(lines[i])) continue;
            var isCSharp = CSharpFence().IsMatch(lines[i]);
            var end = i + 1;
            while (end < lines.Length && !AnyFence().IsMatch(lines[end])) end++;
            if (end == lines.Length) throw new FormatException($"{page}:{i + 1}: a code block is never closed");
            if (isCSharp)
            {
                string? skip = null;
                if (i > 0 && SkipMarker().Match(lines[i - 1]) is { Success: true } marker)
                {
                    skip = marker.Groups["reason"].Value.Trim('(', ')', ' ', ':', '-', '—');
                    if (skip.Length == 0) throw new FormatException($"{page}:{i}: a skipped snippet must say why");
                }
                snippets.Add(new DocSnippet(page, i + 1, lines[(i + 1)..end], skip));
            }
            i = end;
        }
        return snippets;
    }

    /// <summary>The source file a snippet compiles as: its usings, then its body in a method of a file-local class.</summary>
    public static string ToSource(DocSnippet snippet)
    {
        var source = new StringBuilder();
        var body = 0;
        while (body < snippet.Lines.Count && (UsingDirective().IsMatch(snippet.Lines[body]) || IsBlankOrComment(snippet.Lines[body])))
        {
            if (UsingDirective().IsMatch(snippet.Lines[body]))
                source.Append(LineDirective(snippet, body)).AppendLine(snippet.Lines[body]);
            body++;
        }
        source.AppendLine("#line default");
        source.AppendLine("file static class Snippet");
        source.AppendLine("{");
        source.AppendLine("    public static async Task RunAsync()");
        source.AppendLine("    {");
        if (body < snippet.Lines.Count) source.Append(LineDirective(snippet, body));
        for (var i = body; i < snippet.Lines.Count; i++) source.AppendLine(snippet.Lines[i]);
        source.AppendLine("#line default");
        source.AppendLine("    }");
        source.AppendLine("}");
        return source.ToString();
    }

    private static bool IsBlankOrComment(string line) =>
        line.AsSpan().Trim().Length == 0 || line.AsSpan().TrimStart().StartsWith("//", StringComparison.Ordinal);

    private static string LineDirective(DocSnippet snippet, int index) =>
        $"#line {snippet.FenceLine + 1 + index} \"{snippet.Page}\"\n";

    /// <summary>
    /// The package assemblies and everything they reference that ships beside them (what a package user compiles
    /// against), read from <paramref name="directory"/> without loading them.
    /// </summary>
    public static IReadOnlyList<string> References(string directory)
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>(PackageAssemblies);
        while (pending.TryDequeue(out var name))
        {
            var path = Path.Combine(directory, name + ".dll");
            if (!File.Exists(path) || !found.Add(path)) continue;
            using var pe = new PEReader(File.OpenRead(path));
            var metadata = pe.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
                pending.Enqueue(metadata.GetString(metadata.GetAssemblyReference(handle).Name));
        }
        return [.. found];
    }

    /// <summary>
    /// Builds the snippets in a project under <paramref name="workDirectory"/>; returns the compiler's errors and
    /// warnings (empty when every snippet compiles) and the build's whole output.
    /// </summary>
    public static async Task<(IReadOnlyList<string> Diagnostics, string Output)> CompileAsync(
        IReadOnlyList<DocSnippet> snippets, string workDirectory, string targetFramework, IReadOnlyList<string> references,
        CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(workDirectory);
        var project = new StringBuilder();
        project.AppendLine("<Project Sdk=\"Microsoft.NET.Sdk\">");
        project.AppendLine("  <PropertyGroup>");
        project.AppendLine($"    <TargetFramework>{targetFramework}</TargetFramework>");
        project.AppendLine("    <OutputType>Library</OutputType>");
        project.AppendLine("    <Nullable>enable</Nullable>");
        project.AppendLine("    <ImplicitUsings>enable</ImplicitUsings>");
        project.AppendLine("    <LangVersion>latest</LangVersion>");
        // A reader's warnings are worth fixing too; CS1998 is the wrapper's (a block without await).
        project.AppendLine("    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>");
        project.AppendLine("    <NoWarn>$(NoWarn);CS1998</NoWarn>");
        project.AppendLine("  </PropertyGroup>");
        project.AppendLine("  <ItemGroup>");
        foreach (var reference in references)
            project.AppendLine($"    <Reference Include=\"{reference}\" Private=\"false\" />");
        project.AppendLine("  </ItemGroup>");
        project.AppendLine("</Project>");
        await File.WriteAllTextAsync(Path.Combine(workDirectory, "DocSnippets.csproj"), project.ToString(), cancellationToken);
        for (var i = 0; i < snippets.Count; i++)
            await File.WriteAllTextAsync(Path.Combine(workDirectory, $"Snippet{i:D3}.cs"), ToSource(snippets[i]), cancellationToken);

        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDirectory };
        foreach (var argument in new[]
                 {
                     "build", "DocSnippets.csproj", "-nologo", "-v:q", "-clp:NoSummary",
                     // No compiler server or MSBuild nodes outliving the test (they would also hold its output pipes).
                     "--disable-build-servers",
                     // The temporary directory is outside the repository, but never pick up a stray props file above it.
                     "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false",
                     "-p:ImportDirectoryPackagesProps=false",
                 })
            psi.ArgumentList.Add(argument);
        // The test host runs under `dotnet test`, whose MSBuild settings must not leak into this build.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // Without this the CLI looks for workload updates, which inside a network namespace costs seconds to minutes.
        psi.Environment["DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE"] = "1";

        var (exitCode, text) = await ChildProcess.RunAsync(psi, echo: false, cancellationToken);
        var diagnostics = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains(": error ", StringComparison.Ordinal) || l.Contains(": warning ", StringComparison.Ordinal))
            // The compiler roots the pages' paths in the project directory and MSBuild appends the project: the page and
            // line are what matter.
            .Select(l => Regex.Replace(l, @"\s*\[[^\]]*\.csproj\]$", "").Replace(workDirectory + Path.DirectorySeparatorChar, ""))
            .Distinct()
            .ToList();
        if (exitCode != 0 && diagnostics.Count == 0)
            diagnostics.Add($"dotnet build exited with {exitCode} and no compiler diagnostic");
        return (diagnostics, text);
    }
}
