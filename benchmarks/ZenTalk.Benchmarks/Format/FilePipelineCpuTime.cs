using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// The same comparison as <see cref="FileEncode"/> and <see cref="FileDecode"/> at 64 MiB, but in process CPU time
/// as well as wall time: on a machine shared with other work, wall time mostly measures the neighbours, while the
/// CPU time this process spends per operation still shows how close the pipeline gets to its slowest stage.
/// Prints one "// CPU-TIME" line per method (medians of 7 runs after 2 warm-ups) to the log.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1)]
public class FilePipelineCpuTime
{
    private const int Runs = 7;

    [Benchmark]
    public async Task Measure()
    {
        var encode = new FileEncode { Size = 64 << 20 };
        encode.Setup();
        await Report("encode", "Pipeline_1_in_flight", encode.Pipeline_1_in_flight);
        await Report("encode", "Pipeline_2_in_flight", encode.Pipeline_2_in_flight);
        await Report("encode", "AesGcm_alone", () => { encode.AesGcm_alone(); return Task.CompletedTask; });
        await Report("encode", "Erasure_alone", () => { encode.Erasure_alone(); return Task.CompletedTask; });
        await Report("encode", "Sha256_alone", () => { encode.Sha256_alone(); return Task.CompletedTask; });
        encode.Cleanup();

        var decode = new FileDecode { Size = 64 << 20 };
        decode.Setup();
        await Report("decode", "Pipeline_1_in_flight", decode.Pipeline_1_in_flight);
        await Report("decode", "Pipeline_2_in_flight", decode.Pipeline_2_in_flight);
        await Report("decode", "Pipeline_2_in_flight_5_missing", decode.Pipeline_2_in_flight_5_missing);
        await Report("decode", "AesGcm_alone", () => { decode.AesGcm_alone(); return Task.CompletedTask; });
        await Report("decode", "Erasure_alone_5_missing", () => { decode.Erasure_alone_5_missing(); return Task.CompletedTask; });
        await Report("decode", "Sha256_alone", () => { decode.Sha256_alone(); return Task.CompletedTask; });
        decode.Cleanup();
    }

    private static async Task Report(string side, string name, Func<Task> action)
    {
        var wall = new List<double>();
        var cpu = new List<double>();
        for (var i = 0; i < Runs + 2; i++)
        {
            // getrusage-based on Unix: microsecond resolution, unlike Process.TotalProcessorTime's clock ticks.
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var watch = Stopwatch.StartNew();
            await action();
            watch.Stop();
            if (i >= 2)
            {
                wall.Add(watch.Elapsed.TotalMilliseconds);
                cpu.Add((Environment.CpuUsage.TotalTime - cpuBefore).TotalMilliseconds);
            }
        }

        wall.Sort();
        cpu.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// CPU-TIME 64 MiB {side} {name}: wall median {wall[Runs / 2]:F1} ms, CPU median {cpu[Runs / 2]:F1} ms"));
    }
}
