using System.Net;
using System.Net.Sockets;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// A TCP listener on loopback that accepts every connection and never says a word: a dial to it costs the dialer its
/// whole handshake timeout. It counts the connections it accepted, which is how a test sees that a node dialed an
/// address an attacker named.
/// </summary>
internal sealed class TarpitListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _accepted;

    public TarpitListener(IPAddress address)
    {
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, 0));
        _listener.Listen(512);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                lock (_held) _held.Add(socket);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        lock (_held)
        {
            foreach (var s in _held) s.Dispose();
            _held.Clear();
        }
    }
}
