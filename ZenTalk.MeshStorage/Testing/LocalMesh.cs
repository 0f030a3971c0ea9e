using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Testing;

/// <summary>
/// N real mesh nodes in this process on 127.0.0.1, each with its own directory and OS-chosen port, joined into one
/// mesh: for samples, tests and benchmarks. Nodes can be stopped and started again from their directories.
/// </summary>
public sealed class LocalMesh : IAsyncDisposable
{
    private readonly LocalMeshOptions _options;
    private readonly string _root;
    private readonly bool _ownsRoot;
    private readonly MeshNode?[] _nodes;
    private readonly int[] _ports;
    private readonly List<MeshNode> _clients = [];
    private int _clientCount;

    private LocalMesh(int count, LocalMeshOptions options, string root, bool ownsRoot)
    {
        _options = options;
        _root = root;
        _ownsRoot = ownsRoot;
        _nodes = new MeshNode?[count];
        _ports = new int[count];
    }

    /// <summary>The storing nodes, by index. A stopped node stays in the list (stopped) until it is restarted.</summary>
    public IReadOnlyList<MeshNode> Nodes => _nodes.Select((n, i) => n ?? throw new InvalidOperationException($"Node {i} is not started.")).ToList();

    /// <summary>The directory holding every node's directory.</summary>
    public string RootDirectory => _root;

    /// <summary>Starts <paramref name="nodeCount"/> storing nodes and joins them into one mesh.</summary>
    /// <param name="nodeCount">How many nodes (at least 1; 15 or more to place each segment's 15 shards on distinct nodes).</param>
    /// <param name="options">The directory and the settings every node starts with (their logger factory too); defaults when null.</param>
    /// <param name="cancellationToken">Cancels starting; nodes already started are stopped.</param>
    /// <returns>The running mesh.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="nodeCount"/> is less than 1.</exception>
    public static async Task<LocalMesh> StartAsync(int nodeCount, LocalMeshOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        options ??= new LocalMeshOptions();
        bool owns = options.RootDirectory is null;
        string root = options.RootDirectory ?? Path.Combine(Path.GetTempPath(), "zentalk-mesh-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var mesh = new LocalMesh(nodeCount, options, root, owns);
        try
        {
            var first = await mesh.StartNodeAsync(0, [], cancellationToken).ConfigureAwait(false);
            // The rest join through the first node, a few at a time (each join runs lookups through the mesh).
            using var gate = new SemaphoreSlim(4, 4);
            await Task.WhenAll(Enumerable.Range(1, nodeCount - 1).Select(async i =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await mesh.StartNodeAsync(i, [first.BootstrapAddress], cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            // Early joiners met only the nodes that existed then; one more self-lookup each fills the tables.
            await Task.WhenAll(mesh._nodes.Select(n => n!.Network.Dht.FindNodeAsync(n.Id, cancellationToken))).ConfigureAwait(false);
            return mesh;
        }
        catch
        {
            await mesh.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<MeshNode> StartNodeAsync(int index, IList<string> bootstrap, CancellationToken cancellationToken)
    {
        var options = _options.ForNode(index, Path.Combine(_root, "node-" + index), _ports[index], bootstrap, storeForOthers: true);
        var node = await MeshNode.StartAsync(options, cancellationToken).ConfigureAwait(false);
        _ports[index] = int.Parse(node.Endpoint[(node.Endpoint.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _nodes[index] = node;
        return node;
    }

    /// <summary>Stops node <paramref name="index"/>; its directory is kept so it can be restarted.</summary>
    /// <param name="index">The node's index in <see cref="Nodes"/>.</param>
    /// <returns>A task that completes when the node is stopped.</returns>
    public async Task StopNodeAsync(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _nodes.Length);
        if (_nodes[index] is { } node) await node.StopAsync().ConfigureAwait(false);
    }

    /// <summary>Starts node <paramref name="index"/> again from its directory (same id, same port when free) and rejoins it.</summary>
    /// <param name="index">The node's index in <see cref="Nodes"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The new node object, also in <see cref="Nodes"/>.</returns>
    public async Task<MeshNode> RestartNodeAsync(int index, CancellationToken cancellationToken = default)
    {
        await StopNodeAsync(index).ConfigureAwait(false);
        var peers = LivePeersExcept(index);
        try
        {
            return await StartNodeAsync(index, peers, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The old port is taken: any port will do, the node announces its new address when it rejoins.
            _ports[index] = 0;
            return await StartNodeAsync(index, peers, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts a client that does not store for others, in its own directory, joined through node
    /// <paramref name="bootstrapIndex"/> only: like a fresh device that knows one peer.
    /// </summary>
    /// <param name="bootstrapIndex">The node the client learns the mesh from.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The client node; it is stopped with the mesh.</returns>
    /// <exception cref="InvalidOperationException">Node <paramref name="bootstrapIndex"/> is not running.</exception>
    public async Task<MeshNode> StartClientAsync(int bootstrapIndex = 0, CancellationToken cancellationToken = default)
    {
        var seed = _nodes[bootstrapIndex] is { IsStopped: false } running ? running : throw new InvalidOperationException($"Node {bootstrapIndex} is not running.");
        int number = Interlocked.Increment(ref _clientCount);
        var options = _options.ForNode(-number, Path.Combine(_root, "client-" + number), 0, [seed.BootstrapAddress], storeForOthers: false);
        var client = await MeshNode.StartAsync(options, cancellationToken).ConfigureAwait(false);
        lock (_clients) _clients.Add(client);
        return client;
    }

    private List<string> LivePeersExcept(int index) =>
        // Only running nodes: a stopped one's socket is closed, so it has no address to bootstrap through.
        _nodes.Where((n, i) => i != index && n is { IsStopped: false }).Take(3).Select(n => n!.BootstrapAddress).ToList();

    /// <summary>Stops every node and client; deletes the directories unless the caller gave the root directory.</summary>
    /// <returns>A task that completes when everything is stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        List<MeshNode> all;
        lock (_clients) all = [.. _clients, .. _nodes.Where(n => n is not null).Select(n => n!)];
        await Task.WhenAll(all.Select(n => n.StopAsync())).ConfigureAwait(false);
        if (_ownsRoot)
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A file still open elsewhere; the temporary directory is left for the OS to clean.
            }
        }
    }
}
