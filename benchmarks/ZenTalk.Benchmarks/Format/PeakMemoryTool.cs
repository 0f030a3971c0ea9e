using System.Diagnostics;
using System.Globalization;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Format;

/// <summary>
/// The whole-process answer to "does a 1 GiB file stay under 64 MiB": <c>-- peakmem</c> starts a fresh process to
/// encode 1 GiB (generated on the fly) to a shard file on disk and another to decode them to nowhere, and prints each
/// process's lifetime peak resident set (VmHWM) — runtime, JIT, GC heap and pipeline together, with no
/// BenchmarkDotNet host in the process. <see cref="FilePeakMemory"/> measures the pipeline's growth inside the
/// benchmark host. Linux only.
/// </summary>
internal static class PeakMemoryTool
{
    private const long FileSize = 1L << 30;

    public static int Run(string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("peakmem reads /proc/self/status: Linux only.");
            return 2;
        }

        if (args.Length == 2 && args[0] is "encode" or "decode")
        {
            return args[0] == "encode" ? Encode(args[1]) : Decode(args[1]);
        }

        var dir = Path.Combine(Path.GetTempPath(), "zt-peakmem-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            int rc = Child("encode", dir);
            return rc != 0 ? rc : Child("decode", dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int Child(string phase, string dir)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        // Under "dotnet ZenTalk.Benchmarks.dll" the process is the dotnet host: pass the assembly again.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(PeakMemoryTool).Assembly.Location);
        foreach (var a in new[] { "peakmem", phase, dir }) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    private static int Encode(string dir)
    {
        var key = ContentKey.Generate();
        using var owner = OwnerKey.Generate();
        var watch = Stopwatch.StartNew();
        using var shards = new FilePeakMemory.DiskShards(dir);
        var manifest = new FileEncoder().EncodeAsync(new FilePeakMemory.GeneratedStream(FileSize), key, owner, shards)
            .GetAwaiter().GetResult();
        File.WriteAllBytes(Path.Combine(dir, "manifest"), manifest.Bytes.ToArray());
        File.WriteAllText(Path.Combine(dir, "key"), key.ExportBase64Url());
        Report("encode", watch.Elapsed, manifest.SegmentCount);
        return 0;
    }

    private static int Decode(string dir)
    {
        var manifest = Manifest.Open(File.ReadAllBytes(Path.Combine(dir, "manifest")));
        var key = ContentKey.ImportBase64Url(File.ReadAllText(Path.Combine(dir, "key")));
        var watch = Stopwatch.StartNew();
        using var shards = new FilePeakMemory.DiskShards(dir, (long)manifest.ShardSize(0) * manifest.TotalShards);
        new FileDecoder(manifest, key, shards).DecodeToAsync(Stream.Null).GetAwaiter().GetResult();
        Report("decode", watch.Elapsed, manifest.SegmentCount);
        return 0;
    }

    private static void Report(string phase, TimeSpan elapsed, int segments) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"PEAK-MEMORY {phase} 1 GiB ({segments} segments, {elapsed.TotalSeconds:F1} s): whole process VmHWM {FilePeakMemory.ReadKb("VmHWM:") / 1024.0:F1} MiB, VmRSS now {FilePeakMemory.ReadKb("VmRSS:") / 1024.0:F1} MiB (anonymous {FilePeakMemory.ReadKb("RssAnon:") / 1024.0:F1}, mapped files {FilePeakMemory.ReadKb("RssFile:") / 1024.0:F1}), GC heap {GC.GetTotalMemory(false) / 1048576.0:F1} MiB, server GC {System.Runtime.GCSettings.IsServerGC}"));
}
