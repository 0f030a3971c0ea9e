namespace ZenTalk.MeshStorage.Testing;

/// <summary>Settings of a <see cref="LocalMesh"/>.</summary>
public sealed class LocalMeshOptions
{
    /// <summary>
    /// Where the nodes' directories go (node-0, node-1, ...). Null (the default) uses a new temporary directory that
    /// is deleted when the mesh is disposed; a directory given here is kept.
    /// </summary>
    public string? RootDirectory { get; set; }

    /// <summary>
    /// The settings every node of the mesh starts with, e.g. <c>Node = { Coding = { SegmentSize = 64 * 1024 } }</c>.
    /// Each node gets its own <see cref="MeshNodeOptions.DataDirectory"/>, <see cref="MeshNodeOptions.Port"/>,
    /// <see cref="MeshNodeOptions.BootstrapPeers"/> and <see cref="MeshNodeOptions.StoreForOthers"/>; whatever is set
    /// for those here is not used.
    /// </summary>
    public MeshNodeOptions Node { get; private set; } = new();

    /// <summary>Short DHT and shard deadlines (tests: a stopped node is skipped in well under a second).</summary>
    internal bool FastTimeouts { get; set; }

    /// <summary>
    /// Fault-injection hook (tests, hardening tool): given a node's index (clients: -1, -2, ...), the wrapper for that
    /// node's outbound TCP streams (see MeshNodeOptions.OutboundTransport), or null for none.
    /// </summary>
    internal Func<int, Func<Stream, System.Net.IPEndPoint, Stream>?>? OutboundTransportFor { get; set; }

    /// <summary>One node's options: <see cref="Node"/> with that node's directory, port, peers and role.</summary>
    internal MeshNodeOptions ForNode(int index, string directory, int port, IList<string> bootstrap, bool storeForOthers)
    {
        var node = Node.Clone();
        node.DataDirectory = directory;
        node.Port = port;
        node.BootstrapPeers = bootstrap;
        node.StoreForOthers = storeForOthers;
        node.OutboundTransport = OutboundTransportFor?.Invoke(index);
        if (FastTimeouts)
        {
            node.Dht.RequestTimeout = TimeSpan.FromSeconds(2);
            node.Rpc.ShardTimeout = TimeSpan.FromSeconds(3);
        }

        return node;
    }
}
