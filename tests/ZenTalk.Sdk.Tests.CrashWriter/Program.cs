using System.Security.Cryptography;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.Sdk.Tests.CrashWriter;

/// <summary>
/// Usage: CrashWriter &lt;store directory&gt; &lt;shard size&gt;. Puts random shards forever and prints each hash after
/// its put returned ("done &lt;hash&gt;"), and each hash before its put starts ("start &lt;hash&gt;"), so the test knows
/// which puts completed and which one it interrupted.
/// </summary>
public static class Program
{
    /// <summary>Runs until killed.</summary>
    public static async Task Main(string[] args)
    {
        var size = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        using var store = await ShardStore.OpenAsync(new ShardStoreOptions { Directory = args[0] });
        var stdout = Console.Out;
        stdout.WriteLine("ready");
        stdout.Flush();
        while (true)
        {
            var data = RandomNumberGenerator.GetBytes(size);
            var hash = Sha256Hash.Compute(data);
            stdout.WriteLine("start " + hash);
            stdout.Flush();
            await store.PutAsync(hash, data, default);
            stdout.WriteLine("done " + hash);
            stdout.Flush();
        }
    }
}
