using BenchmarkDotNet.Running;

namespace ZenTalk.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- --filter '*'</c>, or
/// <c>-- hardening fuzz|crash|soak</c> for the long hardening runs, <c>-- peakmem</c> for the whole-process memory of a
/// 1 GiB file, <c>-- meshloop store|fetch</c> for 256 KiB latency and CPU in a plain loop, <c>-- erasurepeer</c> for Reed-Solomon
/// against klauspost/reedsolomon, <c>-- ratios</c> for the performance targets' ratios from one run.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line (BenchmarkDotNet's switcher).</summary>
    public static void Main(string[] args)
    {
        // Long hardening runs (fuzz, crash, soak) are not BenchmarkDotNet jobs: see Hardening/HardeningTool.cs.
        if (args.Length > 0 && args[0] == "hardening")
        {
            Environment.ExitCode = Hardening.HardeningTool.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "meshloop")
        {
            Environment.ExitCode = Mesh.MeshLoopTool.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "erasurepeer")
        {
            Environment.ExitCode = Erasure.ErasurePeerTool.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "ratios")
        {
            Environment.ExitCode = RatiosTool.Run(args[1..]);
            return;
        }
        if (args.Length > 0 && args[0] == "peakmem")
        {
            Environment.ExitCode = Format.PeakMemoryTool.Run(args[1..]);
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
