using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Data.Sqlite;
using ZenTalk.Storage;

namespace ZenTalk.Benchmarks.Storage;

/// <summary>
/// The <see cref="MessageIngest"/> question again, measured so that load from other processes hits both sides
/// alike: naive and store alternate in one process on fresh copies of the same starting file (order flipped every
/// round), and both wall time and process CPU time are recorded (CPU time is far less disturbed by other
/// processes). The single invocation prints a table of medians and store/naive throughput ratios; BenchmarkDotNet's
/// own timing of that invocation means nothing here.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1, invocationCount: 1)]
public class MessageIngestAlternating
{
    private const int Count = 10_000;
    private const int Rounds = 5;
    private Message[] _messages = [];
    private string _template = "";

    /// <summary>Messages already in the database before the ingest.</summary>
    [Params(0, 200_000)]
    public int History { get; set; }

    /// <summary>Messages per SaveMessagesAsync call.</summary>
    [Params(1000, 10_000)]
    public int BatchSize { get; set; }

    /// <summary>The messages and the history database.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _messages = StorageBenchData.MakeRange(History, Count, seed: 42);
        _template = History == 0 ? "" : StorageBenchData.EnsureDatabase(History);
    }

    /// <summary>One warm-up round, then <see cref="Rounds"/> alternating rounds; prints the medians.</summary>
    [Benchmark]
    public void NaiveAndStoreAlternating()
    {
        var naive = new List<(double Wall, double Cpu)>();
        var store = new List<(double Wall, double Cpu)>();
        for (var round = 0; round <= Rounds; round++)
        {
            var storeFirst = round % 2 == 1;
            for (var side = 0; side < 2; side++)
            {
                var runStore = (side == 0) == storeFirst;
                var path = FreshCopy();
                try
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var wall = Stopwatch.StartNew();
                    if (runStore)
                    {
                        Store(path);
                    }
                    else
                    {
                        Naive(path);
                    }
                    var sample = (wall.Elapsed.TotalMilliseconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
                    if (round > 0)
                    {
                        (runStore ? store : naive).Add(sample);
                    }
                }
                finally
                {
                    StorageBenchData.DeleteDatabase(path);
                }
            }
        }
        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }
        var (nw, nc) = (Median(naive.Select(s => s.Wall)), Median(naive.Select(s => s.Cpu)));
        var (sw, sc) = (Median(store.Select(s => s.Wall)), Median(store.Select(s => s.Cpu)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// ALTERNATING History={History} BatchSize={BatchSize} rounds={Rounds}: naive wall {nw:F0} ms cpu {nc:F0} ms | store wall {sw:F0} ms cpu {sc:F0} ms | store/naive throughput: wall {nw / sw:F2}x cpu {nc / sc:F2}x"));
        Console.WriteLine("// ALTERNATING walls naive: " + string.Join(' ', naive.Select(s => s.Wall.ToString("F0", CultureInfo.InvariantCulture))) +
            " | store: " + string.Join(' ', store.Select(s => s.Wall.ToString("F0", CultureInfo.InvariantCulture))));
    }

    private string FreshCopy()
    {
        var directory = Path.Combine(Path.GetTempPath(), "zentalk-bench");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"alternating-{Guid.NewGuid():N}.db");
        if (_template.Length == 0)
        {
            StorageBenchData.CreateNaiveSchema(path);
            return path;
        }
        File.Copy(_template, path);
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = DELETE";
        command.ExecuteNonQuery();
        return path;
    }

    private void Naive(string path)
    {
        var benchmark = new MessageIngest();
        benchmark.UseMessages(_messages, path);
        benchmark.NaiveRawSqlite();
    }

    private void Store(string path)
    {
        var benchmark = new MessageIngest { BatchSize = BatchSize };
        benchmark.UseMessages(_messages, path);
        benchmark.Store_SaveMessagesAsync().GetAwaiter().GetResult();
    }
}
