using System.Text.Json.Nodes;
using ZenTalk.MeshStorage;

namespace ZenTalk.Testnet.Hosts;

/// <summary>
/// The testnet's storage node: a <see cref="MeshNode"/> bound to one address and port, with a data directory and a
/// bootstrap list, as an operator would run it. Prints one ready line (<c>{"ready":true,"bootstrap":"addr:port@id"}</c>),
/// answers <c>network</c> on its control channel, and stops cleanly on SIGTERM or when its standard input closes.
/// A restarted node (same directory) has the same id and still holds its shards and file records.
/// <code>
/// node --listen 198.18.1.10 --port 7000 --data DIR [--bootstrap a:p@id,...] [--repair-interval SECONDS] [--log LEVEL]
/// </code>
/// </summary>
internal static class NodeHost
{
    public static Task<int> RunAsync(string[] args) => StdioServer.HostAsync(args, a =>
        {
            double repair = a.Double("repair-interval", 600);
            return new MeshNodeOptions
            {
                ListenAddress = a.Required("listen"),
                Port = a.Int("port", 0),
                DataDirectory = a.Required("data"),
                BootstrapPeers = a.List("bootstrap"),
                Repair = { Interval = repair > 0 ? TimeSpan.FromSeconds(repair) : Timeout.InfiniteTimeSpan },
            };
        },
        node => new JsonObject { ["bootstrap"] = node.BootstrapAddress, ["node"] = node.Id.ToString() },
        (node, counters) => (request, ct) => HandleAsync(node, counters, request, ct));

    private static async Task<JsonObject> HandleAsync(MeshNode node, MeshCounters counters, JsonObject request, CancellationToken cancellationToken)
    {
        switch (request.Text("op"))
        {
            case "network":
                var answer = Describe(await node.Store.GetNetworkAsync(cancellationToken));
                answer["counters"] = MeshCounters.Delta([], counters.Snapshot());
                return answer;
            default:
                throw new ArgumentException($"unknown op '{request.Text("op")}'");
        }
    }

    /// <summary>A node's view of the mesh: routing table size, stored shards, and the addresses of its peers.</summary>
    public static JsonObject Describe(MeshNetworkInfo info) => new()
    {
        ["table"] = info.RoutingTableSize,
        ["shards"] = info.StoredShards,
        ["bytes"] = info.StoredBytes,
        ["peers"] = new JsonArray([.. info.Peers.Select(p => (JsonNode)JsonValue.Create(p.Endpoint))]),
    };
}
