using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.Sdk.Tests.MeshStorage.Crypto;

public class NodeIdentityTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("zt-identity-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Identity_is_created_once_and_reloaded_with_the_same_id()
    {
        NodeId first;
        using (var a = NodeIdentity.LoadOrCreate(_dir)) first = a.Id;
        using var b = NodeIdentity.LoadOrCreate(_dir);
        Assert.That(b.Id, Is.EqualTo(first));
        Assert.That(File.Exists(Path.Combine(_dir, NodeIdentity.KeyFileName + ".tmp")), Is.False);
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Key_file_is_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("Unix file modes only.");
        using var a = NodeIdentity.LoadOrCreate(_dir);
        var mode = File.GetUnixFileMode(Path.Combine(_dir, NodeIdentity.KeyFileName));
        Assert.That(mode, Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_key_file_others_can_read_is_tightened_on_load()
    {
        if (OperatingSystem.IsWindows()) Assert.Ignore("Unix file modes only.");
        using (NodeIdentity.LoadOrCreate(_dir)) { }
        string path = Path.Combine(_dir, NodeIdentity.KeyFileName);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        using var b = NodeIdentity.LoadOrCreate(_dir);
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void A_corrupt_key_file_is_reported_not_replaced()
    {
        string path = Path.Combine(_dir, NodeIdentity.KeyFileName);
        File.WriteAllBytes(path, [1, 2, 3, 4]);
        var ex = Assert.Throws<IntegrityException>(() => NodeIdentity.LoadOrCreate(_dir));
        Assert.That(ex!.Message, Does.Contain("node.key"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Two_identities_have_different_ids()
    {
        using var a = NodeIdentity.CreateEphemeral();
        using var b = NodeIdentity.CreateEphemeral();
        Assert.That(a.Id, Is.Not.EqualTo(b.Id));
    }
}
