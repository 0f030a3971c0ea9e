using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Rpc;

/// <summary>
/// GET_SHARD of a 1 MiB shard over the mesh RPC (TLS 1.3, framing, protobuf, multiplexing) against the raw
/// TLS 1.3 baseline in the same run: a 16-byte request answered with 1 MiB of bytes on a bare SslStream.
/// MB/s = 1 MiB / reported time.
/// </summary>
[MemoryDiagnoser]
public class GetShardThroughput
{
    private const int ShardSize = 1024 * 1024;
    private NodeIdentity _serverId = null!, _clientId = null!;
    private RpcServer _server = null!;
    private RpcClient _client = null!;
    private PeerContact _peer;
    private Request _get = null!;
    private byte[] _hash = null!;
    private readonly byte[] _destination = new byte[ShardSize];
    private Socket _rawListener = null!;
    private SslStream _rawClient = null!;
    private Task _rawServer = Task.CompletedTask;
    private readonly byte[] _rawRequest = new byte[16];
    private readonly byte[] _rawResponse = new byte[ShardSize];
    private readonly CancellationTokenSource _stop = new();

    [GlobalSetup]
    public void Setup()
    {
        var shard = RandomNumberGenerator.GetBytes(ShardSize);
        var hash = SHA256.HashData(shard);
        _hash = hash;
        _serverId = NodeIdentity.CreateEphemeral();
        _clientId = NodeIdentity.CreateEphemeral();
        var options = new RpcOptions();
        var router = new MeshRequestRouter(_serverId.Id) { Shards = new MemoryShardHandler(hash, shard) };
        _server = new RpcServer(_serverId, options, router);
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        _client = new RpcClient(_clientId, options);
        _peer = new PeerContact(_serverId.Id, _server.LocalEndPoint);
        _get = new Request { GetShard = new GetShardRequest { ShardHash = ByteString.CopyFrom(hash) } };
        GetShard().GetAwaiter().GetResult();

        // Raw TLS baseline with the same certificates and protocol.
        _rawListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _rawListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _rawListener.Listen(1);
        var serverCert = SslStreamCertificateContext.Create(NodeCertificate.Create(_serverId), null, offline: true);
        _rawServer = Task.Run(async () =>
        {
            using var s = await _rawListener.AcceptAsync();
            s.NoDelay = true;
            await using var ssl = new SslStream(new NetworkStream(s, ownsSocket: false));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = serverCert, EnabledSslProtocols = SslProtocols.Tls13 });
            var request = new byte[16];
            var payload = shard;
            while (!_stop.IsCancellationRequested)
            {
                await ssl.ReadExactlyAsync(request, _stop.Token);
                await ssl.WriteAsync(payload, _stop.Token);
                await ssl.FlushAsync(_stop.Token);
            }
        });
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(_rawListener.LocalEndPoint!);
        _rawClient = new SslStream(new NetworkStream(socket, ownsSocket: true));
        _rawClient.AuthenticateAsClient(new SslClientAuthenticationOptions
        {
            TargetHost = "zentalk-mesh",
            EnabledSslProtocols = SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        RawTls().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _rawClient.Dispose();
        _rawListener.Dispose();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _serverId.Dispose();
        _clientId.Dispose();
    }

    /// <summary>The floor: 1 MiB over a bare SslStream, no framing or protobuf.</summary>
    [Benchmark(Baseline = true)]
    public async Task RawTls()
    {
        await _rawClient.WriteAsync(_rawRequest);
        await _rawClient.FlushAsync();
        await _rawClient.ReadExactlyAsync(_rawResponse);
    }

    /// <summary>One GET_SHARD call returning 1 MiB into the caller's buffer (how the Distributed layer reads shards).</summary>
    [Benchmark]
    public async Task GetShard()
    {
        var data = await _client.GetShardAsync(_peer, _hash, _destination, TimeSpan.FromSeconds(30), CancellationToken.None);
        if (data.Length != ShardSize) throw new InvalidOperationException("short shard");
    }

    /// <summary>One GET_SHARD call through the generic call path, the shard landing in a new 1 MiB array.</summary>
    [Benchmark]
    public async Task GetShardNewArray()
    {
        var response = await _client.CallAsync(_peer, _get, TimeSpan.FromSeconds(30), CancellationToken.None);
        if (response.GetShard.Data.Length != ShardSize) throw new InvalidOperationException("short shard");
    }

    /// <summary>Serves one shard from memory, as the Distributed layer's store will from disk.</summary>
    private sealed class MemoryShardHandler(byte[] hash, byte[] data) : IShardRequestHandler
    {
        private readonly ByteString _data = UnsafeByteOperations.UnsafeWrap(data);

        public ValueTask<GetShardResponse> GetShardAsync(GetShardRequest request, RpcCallContext caller, CancellationToken cancellationToken)
        {
            if (!request.ShardHash.Span.SequenceEqual(hash)) throw new ZenTalk.MeshStorage.ShardsUnavailableException("not here");
            return ValueTask.FromResult(new GetShardResponse { Data = _data, TotalSize = (ulong)_data.Length });
        }

        public ValueTask<PutShardResponse> PutShardAsync(PutShardRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            throw new ZenTalk.MeshStorage.UnauthorizedOperationException("read-only benchmark store");

        public ValueTask<HasShardsResponse> HasShardsAsync(HasShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new HasShardsResponse { Present = { request.ShardHashes.Select(h => h.Span.SequenceEqual(hash)) } });

        public ValueTask<DeleteShardsResponse> DeleteShardsAsync(DeleteShardsRequest request, RpcCallContext caller, CancellationToken cancellationToken) =>
            throw new ZenTalk.MeshStorage.UnauthorizedOperationException("read-only benchmark store");
    }
}
