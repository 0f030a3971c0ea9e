using System.Net;
using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Rpc;

/// <summary>How many PING round trips per second one multiplexed TLS connection carries, with 1 and 64 calls in flight.</summary>
[MemoryDiagnoser]
public class RpcPingRoundTrips
{
    private const int Pings = 512;
    private NodeIdentity _serverId = null!, _clientId = null!;
    private RpcServer _server = null!;
    private RpcClient _client = null!;
    private PeerContact _peer;
    private readonly Request _ping = new() { Ping = new PingRequest() };

    /// <summary>Calls in flight at once on the one connection.</summary>
    [Params(1, 64)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _serverId = NodeIdentity.CreateEphemeral();
        _clientId = NodeIdentity.CreateEphemeral();
        var options = new RpcOptions();
        _server = new RpcServer(_serverId, options, new MeshRequestRouter(_serverId.Id));
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _client = new RpcClient(_clientId, options);
        _peer = new PeerContact(_serverId.Id, _server.LocalEndPoint);
        _client.CallAsync(_peer, _ping, TimeSpan.FromSeconds(10), CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverId.Dispose();
        _clientId.Dispose();
    }

    /// <summary>512 pings spread over <see cref="Concurrency"/> concurrent callers; the reported time is per ping.</summary>
    [Benchmark(OperationsPerInvoke = Pings)]
    public async Task Ping()
    {
        int perWorker = Pings / Concurrency;
        var workers = new Task[Concurrency];
        for (int w = 0; w < Concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                for (int i = 0; i < perWorker; i++)
                    await _client.CallAsync(_peer, _ping, TimeSpan.FromSeconds(10), CancellationToken.None);
            });
        }
        await Task.WhenAll(workers);
    }
}
