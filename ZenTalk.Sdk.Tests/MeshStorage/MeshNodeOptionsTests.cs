using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.MeshStorage;

public class MeshNodeOptionsTests
{
    private static MeshNodeOptions Valid() => new() { DataDirectory = Path.Combine(Path.GetTempPath(), "zt-options-unused") };

    [Test]
    public void Defaults_are_valid_once_the_data_directory_is_set()
    {
        var options = Valid();
        Assert.DoesNotThrow(options.Validate);
        Assert.Multiple(() =>
        {
            Assert.That(options.Coding.DataShards, Is.EqualTo(MeshCodingOptions.DefaultDataShards));
            Assert.That(options.Storage.QuotaBytes, Is.EqualTo(MeshShardStorageOptions.DefaultQuotaBytes));
            Assert.That(options.Dht.RequestTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(options.Repair.Interval, Is.EqualTo(TimeSpan.FromMinutes(10)));
        });
    }

    [TestCase("DataDirectory")]
    [TestCase("Port")]
    [TestCase("Coding.DataShards")]
    [TestCase("Coding.SegmentSize")]
    [TestCase("Coding.MaxDecodeMemoryBytes")]
    [TestCase("Storage.QuotaBytes")]
    [TestCase("Storage.DeleteWindow")]
    [TestCase("Dht.RequestTimeout")]
    [TestCase("Rpc.ShardTimeout")]
    [TestCase("Repair.Interval")]
    public void A_bad_value_is_refused_naming_its_property(string property)
    {
        var options = Valid();
        switch (property)
        {
            case "DataDirectory": options.DataDirectory = " "; break;
            case "Port": options.Port = 70000; break;
            case "Coding.DataShards": options.Coding.DataShards = 0; break;
            case "Coding.SegmentSize": options.Coding.SegmentSize = 1; break;
            case "Coding.MaxDecodeMemoryBytes": options.Coding.MaxDecodeMemoryBytes = 1024; break;
            case "Storage.QuotaBytes": options.Storage.QuotaBytes = -1; break;
            case "Storage.DeleteWindow": options.Storage.DeleteWindow = TimeSpan.Zero; break;
            case "Dht.RequestTimeout": options.Dht.RequestTimeout = TimeSpan.FromSeconds(-1); break;
            case "Rpc.ShardTimeout": options.Rpc.ShardTimeout = TimeSpan.Zero; break;
            case "Repair.Interval": options.Repair.Interval = TimeSpan.Zero; break;
        }

        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.That(e!.ParamName, Is.EqualTo(property));
        Assert.That(e.Message, Does.StartWith("MeshNodeOptions." + property));
    }

    [Test]
    public async Task A_started_node_keeps_its_own_copy_of_the_options()
    {
        string dir = Path.Combine(Path.GetTempPath(), "zt-options-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var options = new MeshNodeOptions { DataDirectory = dir, Repair = { Interval = Timeout.InfiniteTimeSpan } };
            await using var node = await MeshNode.StartAsync(options);
            options.DataDirectory = "elsewhere";
            options.Coding.DataShards = 0;
            Assert.That(node.DataDirectory, Is.EqualTo(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
