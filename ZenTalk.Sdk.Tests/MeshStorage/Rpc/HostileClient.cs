using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

/// <summary>A peer with a valid identity that can write anything on the wire after (or instead of) the handshake.</summary>
internal sealed class HostileClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly NodeIdentity? _identity;

    private HostileClient(Socket socket, Stream stream, NodeIdentity? identity)
    {
        _socket = socket;
        _stream = stream;
        _identity = identity;
    }

    public Stream Stream => _stream;

    /// <summary>Plain TCP, no TLS: for garbage before the handshake and silent peers.</summary>
    /// <param name="server">Where to connect.</param>
    /// <param name="source">The local address to connect from (any 127.x.y.z works on Linux), or null for the default.</param>
    public static async Task<HostileClient> ConnectRawAsync(IPEndPoint server, IPAddress? source = null)
    {
        var socket = await ConnectSocketAsync(server, source);
        return new HostileClient(socket, new NetworkStream(socket, ownsSocket: false), NodeIdentity.CreateEphemeral());
    }

    private static async Task<Socket> ConnectSocketAsync(IPEndPoint server, IPAddress? source)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (source is not null) socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(server);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>TLS with a valid node certificate, then the given Hello (or the normal one).</summary>
    /// <param name="server">Where to connect.</param>
    /// <param name="hello">The Hello to send (null: the normal one, and its answer is read).</param>
    /// <param name="sendHello">False stops after TLS.</param>
    /// <param name="source">The local address to connect from, or null for the default.</param>
    /// <param name="tls">TLS options to reuse (<see cref="HostileTls.ClientOptions"/>; many connections with one
    /// identity skip making a certificate each), or null for a fresh identity.</param>
    public static async Task<HostileClient> ConnectAsync(IPEndPoint server, Hello? hello = null, bool sendHello = true, IPAddress? source = null,
        SslClientAuthenticationOptions? tls = null)
    {
        var identity = tls is null ? NodeIdentity.CreateEphemeral() : null;
        var socket = await ConnectSocketAsync(server, source);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await ssl.AuthenticateAsClientAsync(tls ?? HostileTls.ClientOptions(identity!));
        }
        catch
        {
            await ssl.DisposeAsync();
            socket.Dispose();
            identity?.Dispose();
            throw;
        }
        var client = new HostileClient(socket, ssl, identity);
        if (sendHello)
        {
            await client.WriteFrameAsync(new Frame { Hello = hello ?? RpcHandshake.LocalHello(new RpcOptions(), 0) });
            if (hello is null) _ = await client.ReadFrameAsync();
        }
        return client;
    }

    public async Task WriteFrameAsync(Frame frame)
    {
        var body = frame.ToByteArray();
        var prefix = new byte[5];
        int n = FrameWriter.WriteVarint((uint)body.Length, prefix);
        await _stream.WriteAsync(prefix.AsMemory(0, n));
        await _stream.WriteAsync(body);
        await _stream.FlushAsync();
    }

    public async Task WriteRawAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public async Task<Frame?> ReadFrameAsync()
    {
        using var reader = new FrameReader(_stream, RpcOptions.DefaultMaxFrameSize);
        return await reader.ReadAsync(CancellationToken.None);
    }

    /// <summary>Waits until the server closes the connection (read returns 0 or fails); false if it is still open at the limit.</summary>
    public async Task<bool> WaitForDisconnectAsync(TimeSpan limit)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(limit);
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception ex) when (ex is IOException or SocketException or AuthenticationException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
        _identity?.Dispose();
    }
}
