using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class MessageStoreOptionsTests
{
    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return new TestCaseData(new MessageStoreOptions { TimeProvider = null! }, "TimeProvider");
        yield return new TestCaseData(new MessageStoreOptions { BusyTimeout = TimeSpan.FromSeconds(-1) }, "BusyTimeout");
        yield return new TestCaseData(new MessageStoreOptions { MaxReadConnections = 0 }, "MaxReadConnections");
        yield return new TestCaseData(new MessageStoreOptions { CacheSizeKiB = -1 }, "CacheSizeKiB");
        yield return new TestCaseData(new MessageStoreOptions { MmapSize = -1 }, "MmapSize");
        yield return new TestCaseData(new MessageStoreOptions { RelayMaxAttempts = 0 }, "RelayMaxAttempts");
        yield return new TestCaseData(new MessageStoreOptions { RelayBaseRetryDelay = TimeSpan.Zero }, "RelayBaseRetryDelay");
        yield return new TestCaseData(new MessageStoreOptions { RelayMaxRetryDelay = TimeSpan.FromSeconds(1) }, "RelayMaxRetryDelay");
        yield return new TestCaseData(new MessageStoreOptions { RelayRetryJitter = double.NaN }, "RelayRetryJitter");
        yield return new TestCaseData(new MessageStoreOptions { RelayMaxItemsPerRecipient = 0 }, "RelayMaxItemsPerRecipient");
        yield return new TestCaseData(new MessageStoreOptions { RelayMaxBytesPerRecipient = 0 }, "RelayMaxBytesPerRecipient");
    }

    [TestCaseSource(nameof(InvalidOptions))]
    public void An_invalid_option_is_refused_naming_the_property(MessageStoreOptions options, string property)
    {
        var error = Assert.ThrowsAsync(Is.InstanceOf<ArgumentException>(), () => SqliteMessageStore.OpenInMemoryAsync(options));
        Assert.That(((ArgumentException)error!).ParamName, Is.EqualTo(property));
        Assert.That(error.Message, Does.Contain(property));
    }
}
