using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ZenTalk.Testnet.Network;

/// <summary>
/// The latency of one node's link: a user-space relay between the outer end of the node's veth pair and a second veth
/// pair whose other end is the bridge port. Every frame, both ways, is held for a fixed delay and then sent on, in
/// order; nothing else changes (addresses, ARP, TCP, TLS are the kernel's and the nodes' own). This kernel has no
/// netem (and no fq for departure-time pacing), so latency is added here; bandwidth stays with tbf on the veths.
/// A frame the next hop refuses (a full tbf queue, a link that is down) is dropped, as a router would.
/// <para>
/// Each direction has two threads of its own, a receiver and a sender that sleeps until each frame is due
/// (<c>clock_nanosleep</c> on the monotonic clock, to the microsecond), both at real-time priority (SCHED_RR) when
/// allowed: the nodes and anything else on the machine may load the CPUs, but the delay a frame gets stays the
/// configured one instead of growing with the load.
/// </para>
/// </summary>
internal sealed partial class LinkRelay : IDisposable
{
    private readonly Socket _node;
    private readonly Socket _bridge;
    private readonly long _delayNs;
    private readonly List<Thread> _threads = [];
    private volatile bool _stopping;
    private long _frames, _bytes, _droppedToNode, _droppedToBridge;

    private LinkRelay(Socket node, Socket bridge, TimeSpan delay, string name)
    {
        _node = node;
        _bridge = bridge;
        _delayNs = (long)(delay.TotalMilliseconds * 1_000_000);
        StartDirection(_node, _bridge, toNode: false, name + " up");
        StartDirection(_bridge, _node, toNode: true, name + " down");
    }

    /// <summary>Starts relaying between <paramref name="nodeSide"/> and <paramref name="bridgeSide"/> (interfaces of this namespace).</summary>
    public static LinkRelay Start(string nodeSide, string bridgeSide, TimeSpan delay)
    {
        var node = PacketSocket.Open(nodeSide);
        try
        {
            return new LinkRelay(node, PacketSocket.Open(bridgeSide), delay, nodeSide);
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    public long Frames => Interlocked.Read(ref _frames);
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Frames the node's downlink refused (its tbf queue was full): the receiving end of a congested link.</summary>
    public long DroppedToNode => Interlocked.Read(ref _droppedToNode);

    /// <summary>Frames the bridge side refused (a link taken down or off the bridge).</summary>
    public long DroppedToBridge => Interlocked.Read(ref _droppedToBridge);

    private readonly record struct Frame(long Due, byte[] Buffer, int Length);

    private void StartDirection(Socket from, Socket to, bool toNode, string name)
    {
        var queue = new Queue<Frame>();
        var receiver = new Thread(() => Receive(from, queue)) { IsBackground = true, Name = name + " rx" };
        var sender = new Thread(() => Send(to, queue, toNode)) { IsBackground = true, Name = name + " tx" };
        _threads.Add(receiver);
        _threads.Add(sender);
        receiver.Start();
        sender.Start();
    }

    private void Receive(Socket from, Queue<Frame> queue)
    {
        RealTime.TryRaiseThisThread();
        var buffer = new byte[PacketSocket.MaxFrame];
        try
        {
            while (!_stopping)
            {
                int n;
                try
                {
                    n = from.Receive(buffer);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    // The receive timeout: a chance to see that the relay is stopping (closing a packet socket does
                    // not wake a thread blocked on it).
                    continue;
                }
                if (n <= PacketSocket.VnetHeaderSize) continue;
                var frame = new Frame(Now() + _delayNs, buffer.AsSpan(0, n).ToArray(), n);
                lock (queue)
                {
                    queue.Enqueue(frame);
                    if (queue.Count == 1) Monitor.Pulse(queue);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
        finally
        {
            lock (queue)
            {
                _stopping = true;
                Monitor.PulseAll(queue);
            }
        }
    }

    private void Send(Socket to, Queue<Frame> queue, bool toNode)
    {
        RealTime.TryRaiseThisThread();
        while (true)
        {
            Frame frame;
            lock (queue)
            {
                while (queue.Count == 0 && !_stopping) Monitor.Wait(queue);
                if (_stopping) return;
                frame = queue.Dequeue();
            }
            RealTime.SleepUntil(frame.Due);
            try
            {
                to.Send(frame.Buffer.AsSpan(0, frame.Length));
                Interlocked.Increment(ref _frames);
                Interlocked.Add(ref _bytes, frame.Length - PacketSocket.VnetHeaderSize);
            }
            catch (SocketException)
            {
                // ENOBUFS from a full tbf queue, ENETDOWN from a link taken down: the frame is lost on the way.
                Interlocked.Increment(ref toNode ? ref _droppedToNode : ref _droppedToBridge);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>Nanoseconds on the monotonic clock (what <see cref="Stopwatch"/> reads on Linux).</summary>
    private static long Now() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    public void Dispose()
    {
        _stopping = true;
        _node.Dispose();
        _bridge.Dispose();
        foreach (var t in _threads) t.Join(TimeSpan.FromSeconds(5));
    }

    /// <summary>Real-time priority and precise sleeps for the relay's threads (Linux).</summary>
    private static partial class RealTime
    {
        private const int SchedRr = 2;
        private const int ClockMonotonic = 1;
        private const int TimerAbstime = 1;

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
        private static partial int SchedSetScheduler(int pid, int policy, in int priority);

        [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
        private static partial int ClockNanosleep(int clock, int flags, in Timespec request, IntPtr remaining);

        /// <summary>SCHED_RR at a low real-time priority for the calling thread; without the right (not root) it stays as it is.</summary>
        public static void TryRaiseThisThread() => _ = SchedSetScheduler(0, SchedRr, 10);

        /// <summary>Sleeps until <paramref name="dueNs"/> on the monotonic clock.</summary>
        public static void SleepUntil(long dueNs)
        {
            var until = new Timespec { Seconds = dueNs / 1_000_000_000, Nanoseconds = dueNs % 1_000_000_000 };
            // EINTR: sleep again until the time has come.
            while (ClockNanosleep(ClockMonotonic, TimerAbstime, until, IntPtr.Zero) != 0 && Now() < dueNs)
            {
            }
        }
    }
}
