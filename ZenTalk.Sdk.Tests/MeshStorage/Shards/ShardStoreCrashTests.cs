using System.Diagnostics;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.MeshStorage.Shards;

public class ShardStoreCrashTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "zt-crash-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public async Task Writer_killed_with_sigkill_mid_put_leaves_no_partial_shard_and_every_completed_put_intact()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("SIGKILL is a Unix signal.");
        }

        var writer = Path.Combine(AppContext.BaseDirectory, "ZenTalk.Sdk.Tests.CrashWriter.dll");
        Assert.That(File.Exists(writer), Is.True, writer);

        var started = new HashSet<string>();
        for (var round = 0; round < 3; round++)
        {
            var done = new HashSet<string>();
            var psi = new ProcessStartInfo("dotnet", [writer, _dir, (1 << 20).ToString()])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(psi)!;
            Assert.That(await process.StandardOutput.ReadLineAsync(), Is.EqualTo("ready"));
            var target = 5 + (round * 3);
            // Kill right after a put has started: with 1 MiB shards and fsync the kill lands inside the write
            // (or just after it) — either way the store must show only whole shards.
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync();
                Assert.That(line, Is.Not.Null, "the writer exited on its own");
                var parts = line!.Split(' ');
                if (parts[0] == "start")
                {
                    started.Add(parts[1]);
                    if (done.Count >= target)
                    {
                        process.Kill(); // SIGKILL on Unix: no finally blocks, no flushing.
                        break;
                    }
                }
                else
                {
                    done.Add(parts[1]);
                }
            }

            await process.WaitForExitAsync();
            // The writer may have run ahead of this reader: lines it printed before it died are still in the pipe, and
            // their puts count (a loaded machine made a later "start" visible on disk but unread here).
            foreach (var rest in (await process.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = rest.Split(' ');
                if (parts.Length == 2) (parts[0] == "start" ? started : done).Add(parts[1]);
            }

            using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = _dir });
            var listed = store.List();
            foreach (var hex in done)
            {
                Assert.That(Sha256Hash.TryParseHex(hex, out var hash), Is.True);
                Assert.That(await store.GetAsync(hash), Is.Not.Null, "a completed put must survive");
            }

            foreach (var info in listed)
            {
                Assert.That(started, Does.Contain(info.Hash.ToString()), "only shards the writer put are visible");
                var bytes = await store.GetAsync(info.Hash);
                Assert.That(bytes, Is.Not.Null, "every visible shard verifies");
                Assert.That(bytes!, Has.Length.EqualTo(1 << 20));
            }

            Assert.That(store.GetStats().QuarantinedSinceOpen, Is.Zero, "no torn shard may be visible");
            var active = store.GetPacks()[^1];
            Assert.That(new FileInfo(active.Path).Length, Is.EqualTo(active.Length), "a torn tail is cut off at the last whole record");
        }
    }
}
