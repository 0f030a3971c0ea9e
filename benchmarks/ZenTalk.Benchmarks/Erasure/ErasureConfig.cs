using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>
/// A short job (the machine is shared), a GB/s-of-data-bytes column, and the ISA-L peer filtered out with a note
/// when libisal.so.2 is missing.
/// </summary>
public sealed class ErasureConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public ErasureConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(7).WithId("Short"));
        AddColumn(new DataThroughputColumn());
        AddDiagnoser(MemoryDiagnoser.Default);
        if (!IsaLPeer.IsAvailable)
        {
            Console.WriteLine("ISA-L peer skipped: libisal.so.2 is not installed (apt-get install libisal2).");
            AddFilter(new SimpleFilter(b => !b.Descriptor.WorkloadMethod.Name.StartsWith("IsaL", StringComparison.Ordinal)));
        }
    }

    /// <summary>Data bytes (DataShards × ShardSize) per second, from the median.</summary>
    private sealed class DataThroughputColumn : IColumn
    {
        public string Id => "DataGBps";

        public string ColumnName => "GB/s (data)";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Data bytes processed per second (10 data shards x shard size / median time), 1 GB = 1e9 bytes";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is null)
            {
                return "-";
            }

            int shardSize = Convert.ToInt32(benchmarkCase.Parameters["ShardSize"], System.Globalization.CultureInfo.InvariantCulture);
            double bytes = 10.0 * shardSize;
            return (bytes / report.ResultStatistics.Median).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
