using System.Globalization;
using System.Net;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.HostilePeer;

/// <summary>
/// A hostile mesh peer, a program of its own: a TLS node identity made at start, the wire protocol of docs/protocol.md
/// spoken from the schema (no ZenTalk library), and one command:
/// <code>
/// ZenTalk.HostilePeer flood --target ADDRESS:PORT@NODEID [--seconds 30] [--bind ADDRESS] [--shard-connections 3]
///                          [--record-connections 3] [--replay-delegation FILE] [--seed 1]
/// </code>
/// It floods the target with junk records and unauthorized 1 MiB shards for the given seconds (<see cref="Flood"/>),
/// asks which shards the target kept, and prints what it sent and what the target answered as one JSON line on standard
/// output; progress goes to standard error. <c>--replay-delegation</c> names a file holding a serialized
/// <c>StoreDelegation</c> seen elsewhere, which some of the puts carry. Exit code 0 after a run, 1 when the target could
/// not be reached afterwards, 2 for a bad command line.
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: ZenTalk.HostilePeer flood --target ADDRESS:PORT@NODEID [--seconds 30] [--bind ADDRESS] [--shard-connections 3] " +
        "[--record-connections 3] [--replay-delegation FILE] [--seed 1]";

    public static async Task<int> Main(string[] args)
    {
        FloodOptions options;
        try
        {
            options = Parse(args);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IOException or OverflowException
                                      or Google.Protobuf.InvalidProtocolBufferException)
        {
            await Console.Error.WriteLineAsync($"ZenTalk.HostilePeer: {e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            var report = await Flood.RunAsync(options, line => Console.Error.WriteLine(line), stop.Token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(report.ToJsonString()).ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException
                                      or System.Security.Authentication.AuthenticationException)
        {
            await Console.Error.WriteLineAsync($"ZenTalk.HostilePeer: the target could not be asked what it kept: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static FloodOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "flood") throw new FormatException("the command is 'flood'");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new FormatException($"'{args[i]}' needs a value");
            values[args[i][2..]] = args[++i];
        }

        int Number(string name, int fallback) =>
            values.Remove(name, out var text) ? int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) : fallback;
        if (!values.Remove("target", out var target)) throw new FormatException("--target is required");
        var options = new FloodOptions
        {
            Target = Target.Parse(target),
            Duration = TimeSpan.FromSeconds(Number("seconds", 30)),
            ShardConnections = Number("shard-connections", 3),
            RecordConnections = Number("record-connections", 3),
            Seed = Number("seed", 1),
            Bind = values.Remove("bind", out var bind) ? IPAddress.Parse(bind) : null,
            Replayed = values.Remove("replay-delegation", out var file) ? StoreDelegation.Parser.ParseFrom(File.ReadAllBytes(file)) : null,
        };
        if (values.Count > 0) throw new FormatException($"unknown option --{values.Keys.First()}");
        return options;
    }
}
