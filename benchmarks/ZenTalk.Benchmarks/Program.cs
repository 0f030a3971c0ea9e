using BenchmarkDotNet.Running;

namespace ZenTalk.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line (BenchmarkDotNet's switcher).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
