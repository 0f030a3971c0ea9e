using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk.Tests.MeshStorage;

public class PrivateNetworkKeyTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-pnetkey-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_saved_key_loads_back_as_the_same_network_and_its_file_is_the_owners_only()
    {
        var key = PrivateNetworkKey.Generate();
        string path = Path.Combine(_dir, "network.key");
        key.Save(path);
        var loaded = PrivateNetworkKey.Load(path);
        Assert.That(loaded.Secret.ToArray(), Is.EqualTo(key.Secret.ToArray()));
        Assert.That(loaded.Id, Is.EqualTo(key.Id).And.Length.EqualTo(16));
        Assert.That(loaded.ToString(), Does.Not.Contain(Convert.ToHexStringLower(key.Secret)));
        var lines = File.ReadAllLines(path);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[0], Is.EqualTo("/zentalk/private-network-key/v1"));
        Assert.That(lines[1], Is.EqualTo(Convert.ToHexStringLower(key.Secret)));
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.Throws<IOException>(() => PrivateNetworkKey.Generate().Save(path), "an existing key file is never overwritten");
        Assert.That(PrivateNetworkKey.Load(path).Id, Is.EqualTo(key.Id));
        Assert.That(PrivateNetworkKey.Generate().Id, Is.Not.EqualTo(key.Id));
    }

    [Test]
    public void A_key_written_by_hand_with_upper_case_digits_and_crlf_loads()
    {
        var key = PrivateNetworkKey.Generate();
        string path = Path.Combine(_dir, "hand.key");
        File.WriteAllText(path, $"/zentalk/private-network-key/v1\r\n{Convert.ToHexString(key.Secret)}\r\n");
        Assert.That(PrivateNetworkKey.Load(path).Id, Is.EqualTo(key.Id));
    }

    [TestCase("", "first line")]
    [TestCase("/key/swarm/psk/1.0.0/\n/base16/\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", "first line")]
    [TestCase("/zentalk/private-network-key/v1\n", "exactly two lines")]
    [TestCase("/zentalk/private-network-key/v1\n00112233\n", "64 hexadecimal digits")]
    [TestCase("/zentalk/private-network-key/v1\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg\n", "64 hexadecimal digits")]
    [TestCase("/zentalk/private-network-key/v1\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nextra\n", "exactly two lines")]
    [TestCase("/zentalk/private-network-key/v1\n0000000000000000000000000000000000000000000000000000000000000000\n", "not a random key")]
    public void A_file_that_is_not_a_key_file_is_refused_with_what_is_wrong(string text, string reason)
    {
        string path = Path.Combine(_dir, "bad.key");
        File.WriteAllText(path, text);
        var ex = Assert.Throws<MeshStorageException>(() => PrivateNetworkKey.Load(path));
        Assert.That(ex!.Message, Does.Contain("is not a usable private network key file").And.Contain(reason));
    }

    [Test]
    public void A_large_or_binary_file_is_refused_without_being_read_whole()
    {
        string path = Path.Combine(_dir, "big.key");
        File.WriteAllBytes(path, new byte[1 << 20]);
        Assert.That(Assert.Throws<MeshStorageException>(() => PrivateNetworkKey.Load(path))!.Message, Does.Contain("two short lines"));
        File.WriteAllBytes(path, [0xFF, 0xFE, 0x00]);
        Assert.That(Assert.Throws<MeshStorageException>(() => PrivateNetworkKey.Load(path))!.Message, Does.Contain("not text"));
    }
}
