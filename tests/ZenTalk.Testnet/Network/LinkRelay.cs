using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Threading.Channels;

namespace ZenTalk.Testnet.Network;

/// <summary>
/// The latency of one node's link: a user-space relay between the outer end of the node's veth pair and a second veth
/// pair whose other end is the bridge port. Every frame, both ways, is held for a fixed delay and then sent on, in
/// order; nothing else changes (addresses, ARP, TCP, TLS are the kernel's and the nodes' own). This kernel has no
/// netem (and no fq for departure-time pacing), so latency is added here; bandwidth stays with tbf on the veths.
/// A frame the next hop refuses (a full tbf queue, a link that is down) is dropped, as a router would.
/// </summary>
internal sealed class LinkRelay : IAsyncDisposable
{
    private readonly Socket _node;
    private readonly Socket _bridge;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private long _frames, _bytes, _dropped;

    private LinkRelay(Socket node, Socket bridge, TimeSpan delay)
    {
        _node = node;
        _bridge = bridge;
        long ticks = (long)(delay.TotalSeconds * Stopwatch.Frequency);
        _loops = [.. Direction(_node, _bridge, ticks), .. Direction(_bridge, _node, ticks)];
    }

    /// <summary>Starts relaying between <paramref name="nodeSide"/> and <paramref name="bridgeSide"/> (interfaces of this namespace).</summary>
    public static LinkRelay Start(string nodeSide, string bridgeSide, TimeSpan delay)
    {
        var node = PacketSocket.Open(nodeSide);
        try
        {
            return new LinkRelay(node, PacketSocket.Open(bridgeSide), delay);
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    public long Frames => Interlocked.Read(ref _frames);
    public long Bytes => Interlocked.Read(ref _bytes);
    public long Dropped => Interlocked.Read(ref _dropped);

    private Task[] Direction(Socket from, Socket to, long delayTicks)
    {
        var queue = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        return [Task.Run(() => ReceiveLoopAsync(from, queue.Writer, delayTicks)), Task.Run(() => SendLoopAsync(to, queue.Reader))];
    }

    private readonly record struct Frame(long Due, byte[] Buffer, int Length);

    private async Task ReceiveLoopAsync(Socket from, ChannelWriter<Frame> queue, long delayTicks)
    {
        var buffer = new byte[PacketSocket.MaxFrame];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await from.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, _stop.Token);
                if (n <= PacketSocket.VnetHeaderSize) continue;
                long due = Stopwatch.GetTimestamp() + delayTicks;
                var copy = ArrayPool<byte>.Shared.Rent(n);
                buffer.AsSpan(0, n).CopyTo(copy);
                queue.TryWrite(new Frame(due, copy, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
        finally
        {
            queue.TryComplete();
        }
    }

    private async Task SendLoopAsync(Socket to, ChannelReader<Frame> queue)
    {
        try
        {
            await foreach (var frame in queue.ReadAllAsync(_stop.Token))
            {
                try
                {
                    long wait = frame.Due - Stopwatch.GetTimestamp();
                    if (wait > 0) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), _stop.Token);
                    await to.SendAsync(frame.Buffer.AsMemory(0, frame.Length), SocketFlags.None, _stop.Token);
                    Interlocked.Increment(ref _frames);
                    Interlocked.Add(ref _bytes, frame.Length - PacketSocket.VnetHeaderSize);
                }
                catch (SocketException)
                {
                    // ENOBUFS from a full tbf queue, ENETDOWN from a link taken down: the frame is lost on the way.
                    Interlocked.Increment(ref _dropped);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _node.Dispose();
        _bridge.Dispose();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }
}
