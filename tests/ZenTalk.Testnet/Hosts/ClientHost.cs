using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ZenTalk.MeshStorage;

namespace ZenTalk.Testnet.Hosts;

/// <summary>
/// A user's device on the testnet: a <see cref="MeshNode"/> that stores nothing for others, driven through the public
/// <see cref="IMeshStore"/> API by the coordinator's requests on its control channel:
/// <list type="bullet">
/// <item><c>store size seed [segment]</c>: stores <see cref="Payload"/>(seed, size); answers cid, key, ms, cpu_ms and the mesh counters' changes;</item>
/// <item><c>get cid key</c>: retrieves and hashes the stream; answers sha256, length, ms, cpu_ms, counters;</item>
/// <item><c>delete cid</c>, <c>status cid</c> (per segment: verified shards, distinct holders), <c>network</c>;</item>
/// <item><c>ping address port count</c>: TCP connect times (one round trip each), to check the link's latency.</item>
/// </list>
/// Every device of the testnet's user shares one owner key (the file named by --owner-key, created when missing), so
/// a file stored through one client can be deleted through another.
/// <code>
/// client --listen 198.18.200.10 --data DIR --bootstrap a:p@id,... --owner-key FILE [--log LEVEL]
/// </code>
/// </summary>
internal static class ClientHost
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var owner = LoadOrCreateOwner(new HostArguments(args).Required("owner-key"));
        return await StdioServer.HostAsync(args, a => new MeshNodeOptions
        {
            ListenAddress = a.Required("listen"),
            DataDirectory = a.Required("data"),
            BootstrapPeers = a.List("bootstrap"),
            StoreForOthers = false,
            Repair = { Interval = Timeout.InfiniteTimeSpan },
        },
        node => new JsonObject { ["node"] = node.Id.ToString() },
        (node, counters) => new Client(node.Store, owner, counters).HandleAsync);
    }

    private static OwnerKey LoadOrCreateOwner(string path)
    {
        // Two clients may start at once: the first to create the file writes the key, the other waits for it.
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            using var key = OwnerKey.Generate();
            using var writer = new StreamWriter(file);
            writer.Write(key.ExportPrivateKeyPem());
        }
        catch (IOException) when (File.Exists(path))
        {
            // Created by the other client.
        }
        for (int i = 0; ; i++)
        {
            try
            {
                return OwnerKey.ImportPem(File.ReadAllText(path));
            }
            catch (ArgumentException) when (i < 100)
            {
                Thread.Sleep(50);
            }
        }
    }

    private sealed class Client(IMeshStore store, OwnerKey owner, MeshCounters counters)
    {
        public async Task<JsonObject> HandleAsync(JsonObject request, CancellationToken cancellationToken)
        {
            string op = request.Text("op");
            // A store's payload is made before the clocks start: the figures are the mesh's, not the test's generator's.
            var payload = op == "store" ? Payload.Generate((int)request.Number("seed"), (int)request.Number("size")) : null;
            var before = counters.Snapshot();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            var answer = op switch
            {
                "store" => await StoreAsync(request, payload!, cancellationToken),
                "get" => await GetAsync(request, cancellationToken),
                "delete" => await DeleteAsync(request, cancellationToken),
                "status" => await StatusAsync(request, cancellationToken),
                "network" => NodeHost.Describe(await store.GetNetworkAsync(cancellationToken)),
                "ping" => await PingAsync(request, cancellationToken),
                _ => throw new ArgumentException($"unknown op '{op}'"),
            };
            answer["ms"] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            answer["cpu_ms"] = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
            answer["counters"] = MeshCounters.Delta(before, counters.Snapshot());
            return answer;
        }

        private async Task<JsonObject> StoreAsync(JsonObject request, byte[] data, CancellationToken cancellationToken)
        {
            var options = request["segment"] is { } segment ? new StoreOptions { SegmentSize = segment.GetValue<int>() } : null;
            var stored = await store.StoreAsync(new MemoryStream(data, writable: false), owner, options, cancellationToken: cancellationToken);
            return new JsonObject { ["cid"] = stored.Cid.ToString(), ["key"] = stored.ContentKey.ExportBase64Url() };
        }

        private async Task<JsonObject> GetAsync(JsonObject request, CancellationToken cancellationToken)
        {
            var cid = Cid.Parse(request.Text("cid"));
            var key = ContentKey.ImportBase64Url(request.Text("key"));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            var buffer = new byte[256 * 1024];
            await using (var stream = await store.RetrieveAsync(cid, key, cancellationToken))
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    length += n;
                }
            }
            return new JsonObject { ["sha256"] = Convert.ToHexStringLower(hash.GetHashAndReset()), ["length"] = length };
        }

        private async Task<JsonObject> DeleteAsync(JsonObject request, CancellationToken cancellationToken)
        {
            await store.DeleteAsync(Cid.Parse(request.Text("cid")), owner, cancellationToken);
            return [];
        }

        private async Task<JsonObject> StatusAsync(JsonObject request, CancellationToken cancellationToken)
        {
            var status = await store.GetStatusAsync(Cid.Parse(request.Text("cid")), cancellationToken);
            var segments = new JsonArray();
            foreach (var s in status.Segments)
            {
                segments.Add(new JsonObject
                {
                    ["verified"] = s.ShardsVerified,
                    ["expected"] = s.ShardsExpected,
                    ["holders"] = s.Holders.Select(h => h.Node).Distinct().Count(),
                    // Nodes that alone hold two or more of the segment's shards: one such failure costs two shards, so
                    // "15 of 15" overstates what the segment survives (repair spreads them while free nodes exist).
                    ["crowded"] = s.Holders.GroupBy(h => h.ShardIndex).Where(g => g.Select(h => h.Node).Distinct().Count() == 1)
                        .GroupBy(g => g.First().Node).Count(g => g.Count() > 1),
                    ["health"] = s.Health.ToString(),
                });
            }
            return new JsonObject { ["health"] = status.Health.ToString(), ["segments"] = segments };
        }

        private static async Task<JsonObject> PingAsync(JsonObject request, CancellationToken cancellationToken)
        {
            var target = new IPEndPoint(IPAddress.Parse(request.Text("address")), (int)request.Number("port"));
            var times = new JsonArray();
            for (long i = 0, count = request.Number("count"); i < count; i++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                long start = Stopwatch.GetTimestamp();
                await socket.ConnectAsync(target, cancellationToken);
                times.Add(Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2));
            }
            return new JsonObject { ["connect_ms"] = times };
        }
    }
}
