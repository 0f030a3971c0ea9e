using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// One authenticated connection after the handshake. The dialer side sends requests and matches responses by
/// request id (many calls share the connection); the listener side reads requests, runs them on the handler and
/// writes responses in any order. A watchdog drops the peer when a frame does not complete within the read
/// timeout or when the connection sits idle.
/// </summary>
internal sealed class RpcConnection : IAsyncDisposable
{
    private readonly SslStream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly RpcOptions _options;
    private readonly ILogger _logger;
    private readonly bool _isDialer;
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<ulong, PendingCall> _pending = new();
    private PendingCall? _receiving;
    private readonly Func<ulong, Memory<byte>?> _claimDestination;
    private readonly ConcurrentDictionary<ulong, CancellationTokenSource> _serving = new();
    private readonly SemaphoreSlim _slots;
    private readonly Timer _watchdog;
    // Ends the calls whose deadline passed (ExpireCalls); set for the earliest deadline it must watch (_deadlineSet).
    private readonly Timer _deadlines;
    private readonly Lock _deadlineLock = new();
    private long _deadlineSet = long.MaxValue;
    private IRpcRequestHandler? _handler;
    private SemaphoreSlim? _globalSlots;
    private ByteBudget? _budget;
    private readonly Lock _budgetLock = new();
    private long _responseBytes;
    private bool _budgetSwept;
    private RpcCallContext? _callerContext;
    private Task _readLoop = Task.CompletedTask, _writeLoop = Task.CompletedTask;
    private long _nextRequestId;
    private long _lastActivity = Environment.TickCount64;
    private long _lastUseful = Environment.TickCount64;
    private long _awaitingSince;
    private int _inFlight;
    private int _closed;
    private Exception? _closeReason;
    private bool _peerClosed;
    private bool _closedIdle;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RpcConnection(SslStream stream, FrameReader reader, FrameWriter writer, RpcOptions options, ILogger logger,
        bool isDialer, NodeId remoteId, IPEndPoint remoteEndPoint, Hello remoteHello)
    {
        _stream = stream;
        _reader = reader;
        _writer = writer;
        _options = options;
        _logger = logger;
        _isDialer = isDialer;
        RemoteId = remoteId;
        RemoteEndPoint = remoteEndPoint;
        RemoteHello = remoteHello;
        _slots = new SemaphoreSlim(options.MaxInFlightPerConnection, options.MaxInFlightPerConnection);
        _claimDestination = ClaimDestination;
        long period = (long)Math.Clamp(Math.Min(options.ReadTimeout.TotalMilliseconds, options.IdleTimeout.TotalMilliseconds) / 4, 20, 5000);
        _watchdog = new Timer(static s => ((RpcConnection)s!).CheckTimeouts(), this, Timeout.Infinite, Timeout.Infinite);
        _watchdog.Change(period, period);
        _deadlines = new Timer(static s => ((RpcConnection)s!).ExpireCalls(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>The peer's id, proven by the TLS handshake.</summary>
    public NodeId RemoteId { get; }

    /// <summary>The peer's socket address.</summary>
    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>What the peer said in the version exchange.</summary>
    public Hello RemoteHello { get; }

    /// <summary>Whether the connection has closed (it is then never reused).</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Calls currently in flight (dialer) or requests being handled (listener).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary><see cref="Environment.TickCount64"/> of the last frame sent or received.</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>
    /// Listener side: <see cref="Environment.TickCount64"/> when the peer last asked for useful work (a request other
    /// than PING and NODE_INFO) or the connection opened. Its idle timeout counts from here, so a peer cannot hold a
    /// slot with pings alone; a full server evicts the connection with the oldest value first.
    /// </summary>
    public long LastUseful => Volatile.Read(ref _lastUseful);

    /// <summary>Whether a full server may close this inbound connection for a newcomer: open, nothing in flight or
    /// waiting for the budget, and no useful request for <see cref="RpcOptions.EvictableAfter"/>.</summary>
    public bool IsEvictable(long now) =>
        !_isDialer && !IsClosed && InFlight == 0 && !_reader.WaitingForBudget
        && now - LastUseful >= (long)_options.EvictableAfter.TotalMilliseconds;

    private static bool IsUseful(Request.KindOneofCase kind) => kind is not (Request.KindOneofCase.Ping or Request.KindOneofCase.NodeInfo);

    /// <summary>Completes when the connection has closed and released its resources.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Starts the loops of a dialer-side connection.</summary>
    public void StartDialer()
    {
        _writeLoop = RunWriterAsync();
        _readLoop = Task.Run(ReadDialerLoopAsync);
    }

    /// <summary>Starts the loops of a listener-side connection.</summary>
    /// <param name="handler">Serves the requests.</param>
    /// <param name="globalSlots">The server-wide limit on requests being handled.</param>
    /// <param name="budget">The server-wide limit on bytes held for peers (requests being handled, answers not yet
    /// written); null for none. This connection takes from it through its own share
    /// (<see cref="RpcOptions.MaxBufferedBytesPerConnection"/>).</param>
    public void StartListener(IRpcRequestHandler handler, SemaphoreSlim globalSlots, ByteBudget? budget = null)
    {
        _handler = handler;
        _globalSlots = globalSlots;
        _budget = budget is null ? null : new ByteBudget(Math.Min(_options.MaxBufferedBytesPerConnection, budget.Capacity), budget);
        _reader.Budget = _budget;
        _writer.Released = ResponseLeases.ReturnWritten;
        _writer.Written = cost =>
        {
            if (cost > 0) FreeResponse(cost);
        };
        _callerContext = new RpcCallContext(RemoteId, RemoteEndPoint.Address, (int)RemoteHello.ListenPort);
        _writeLoop = RunWriterAsync();
        _readLoop = Task.Run(ReadListenerLoopAsync);
    }

    /// <summary>Sends a request and waits for its response (dialer side).</summary>
    /// <exception cref="TimeoutException">No response before <paramref name="timeout"/>.</exception>
    /// <exception cref="ProtocolException">The connection failed or closed before the response.</exception>
    public Task<Response> CallAsync(Request request, TimeSpan timeout, CancellationToken cancellationToken) =>
        CallAsync(request, default, timeout, cancellationToken);

    /// <summary>Sends a request; a large GET_SHARD answer is read straight into <paramref name="destination"/>
    /// when it fits (the response's shard bytes then alias it).</summary>
    public async Task<Response> CallAsync(Request request, Memory<byte> destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        PendingCall? call = null;
        cancellationToken.ThrowIfCancellationRequested();
        if (IsClosed) throw Closed();
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan) throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative.");
        long start = Environment.TickCount64;
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : start + (long)timeout.TotalMilliseconds;
        bool slot = false;
        ulong id = 0;
        CancellationTokenRegistration cancelled = default;
        try
        {
            // Backpressure: at most MaxInFlightPerConnection calls; more callers wait here, within their deadline. A
            // connection that closes meanwhile fails the calls in flight, and their slots come free.
            if (!_slots.Wait(0) && !await _slots.WaitAsync(Remaining(deadline), cancellationToken).ConfigureAwait(false))
                throw new OperationCanceledException("No call slot came free before the deadline.");
            slot = true;
            if (IsClosed) throw Closed();
            Interlocked.Increment(ref _inFlight);
            id = (ulong)Interlocked.Increment(ref _nextRequestId);
            call = new PendingCall(destination, deadline);
            _pending[id] = call;
            // The deadline and the caller's token each complete the call, as an answer does: no per-call timer or
            // linked token source (a GET_SHARD-heavy read makes hundreds of calls per connection per second).
            WatchDeadline(deadline);
            if (cancellationToken.CanBeCanceled)
                cancelled = cancellationToken.UnsafeRegister(static (s, token) => ((PendingCall)s!).Completion.TrySetCanceled(token), call);
            long remaining = deadline - Environment.TickCount64;
            var frame = new Frame { RequestId = id, DeadlineMs = (uint)Math.Clamp(remaining, 1, uint.MaxValue), Request = request };
            if (!_writer.TryEnqueue(frame))
            {
                // The send queue is full (or the connection closed): wait for room within the deadline.
                using var room = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
                room.CancelAfter(Remaining(deadline));
                await _writer.EnqueueAsync(frame, room.Token).ConfigureAwait(false);
            }

            Interlocked.CompareExchange(ref _awaitingSince, Environment.TickCount64, 0);
            var kind = new KeyValuePair<string, object?>("kind", request.KindCase.ToString());
            RpcMetrics.CallsSent.Add(1, kind);
            var response = await call.Completion.Task.ConfigureAwait(false);
            RpcMetrics.CallDuration.Record(Environment.TickCount64 - start, kind);
            if (response.Status is { Code: not StatusCode.Ok }) RpcMetrics.CallsFailed.Add(1, kind);
            return response;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            RpcMetrics.CallsFailed.Add(1, new KeyValuePair<string, object?>("kind", request.KindCase.ToString()));
            if (call is not null) await call.AbandonAsync().ConfigureAwait(false);
            if (id != 0 && _pending.TryRemove(id, out _))
                _writer.TryEnqueue(new Frame { RequestId = id, Cancel = new Cancel() });
            if (_closing.IsCancellationRequested)
                throw Closed();
            DropIfSilent();
            throw new TimeoutException($"Peer {RemoteId.ToString()[..12]}@{RemoteEndPoint} did not answer within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (OperationCanceledException)
        {
            // The caller gave up: tell the peer so it can stop working on it, and drop the call.
            if (call is not null) await call.AbandonAsync().ConfigureAwait(false);
            if (id != 0 && _pending.TryRemove(id, out _))
                _writer.TryEnqueue(new Frame { RequestId = id, Cancel = new Cancel() });
            throw;
        }
        catch (System.Threading.Channels.ChannelClosedException ex)
        {
            throw Closed(ex);
        }
        finally
        {
            cancelled.Dispose();
            if (id != 0) _pending.TryRemove(id, out _);
            if (slot)
            {
                Interlocked.Decrement(ref _inFlight);
                _slots.Release();
            }
            Volatile.Write(ref _lastActivity, Environment.TickCount64);
        }
    }

    /// <summary>
    /// After a call timed out: when the peer has sent nothing at all for <see cref="RpcOptions.ReadTimeout"/> since a
    /// request went out unanswered, the connection is taken for dead and closed, so the next call dials again. A route
    /// that vanished and came back, or a NAT or firewall that forgot the connection, leaves a TCP connection that
    /// delivers nothing (or, after a partition healed, nothing until the sender's retransmission backoff runs out,
    /// up to minutes); without this every later call to the peer would wait out its deadline on it.
    /// </summary>
    private void DropIfSilent()
    {
        long since = Volatile.Read(ref _awaitingSince);
        long silent = Environment.TickCount64 - since;
        if (since != 0 && silent >= (long)_options.ReadTimeout.TotalMilliseconds)
            Abort(new TimeoutException($"The peer sent nothing for {silent} ms while calls waited for it."));
    }

    private static TimeSpan Remaining(long deadline) =>
        deadline == long.MaxValue ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64));

    /// <summary>
    /// Makes sure <see cref="_deadlines"/> fires by <paramref name="deadline"/> (<see cref="Environment.TickCount64"/>).
    /// Calls made with the same timeout come in deadline order, so the timer is set again only when it is not set at
    /// all or a call must end sooner than every other.
    /// </summary>
    private void WatchDeadline(long deadline)
    {
        if (deadline == long.MaxValue) return;
        // With the full fence in ExpireCalls: either this sees the timer unset, or ExpireCalls sees the call just added.
        Interlocked.MemoryBarrier();
        if (deadline >= Volatile.Read(ref _deadlineSet)) return;
        lock (_deadlineLock)
        {
            if (deadline >= _deadlineSet || IsClosed) return;
            _deadlineSet = deadline;
            _deadlines.Change(Math.Max(1, deadline - Environment.TickCount64), Timeout.Infinite);
        }
    }

    /// <summary>The deadline timer: ends the calls whose deadline has passed, and is set again for the next one.</summary>
    private void ExpireCalls()
    {
        lock (_deadlineLock) Interlocked.Exchange(ref _deadlineSet, long.MaxValue);
        long now = Environment.TickCount64, next = long.MaxValue;
        foreach (var (_, call) in _pending)
        {
            if (call.Completion.Task.IsCompleted) continue;
            if (call.Deadline <= now) call.Completion.TrySetCanceled();
            else next = Math.Min(next, call.Deadline);
        }

        if (next != long.MaxValue) WatchDeadline(next);
    }

    private Memory<byte>? ClaimDestination(ulong requestId)
    {
        if (!_pending.TryGetValue(requestId, out var call) || call.Destination.IsEmpty || !call.TryStartReceive()) return null;
        _receiving = call;
        return call.Destination;
    }

    /// <summary>
    /// A call waiting for its response. When it has a destination buffer, the read loop may be writing into it; a
    /// caller that gives up waits for that write to stop before its buffer is returned to it.
    /// </summary>
    private sealed class PendingCall(Memory<byte> destination, long deadline)
    {
        /// <summary><see cref="Environment.TickCount64"/> by which the call ends, answered or not (long.MaxValue: never).</summary>
        public long Deadline { get; } = deadline;

        private const int Waiting = 0, Receiving = 1, Done = 2;
        private int _state;
        private readonly TaskCompletionSource _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Memory<byte> Destination { get; } = destination;
        public TaskCompletionSource<Response> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TryStartReceive() => Interlocked.CompareExchange(ref _state, Receiving, Waiting) == Waiting;

        public void ReceiveFinished()
        {
            Volatile.Write(ref _state, Done);
            _received.TrySetResult();
        }

        public Task AbandonAsync() =>
            Interlocked.CompareExchange(ref _state, Done, Waiting) == Receiving ? _received.Task : Task.CompletedTask;
    }

    private ProtocolException Closed(Exception? inner = null)
    {
        string message = $"The connection to {RemoteId.ToString()[..12]}@{RemoteEndPoint} closed" + (_closeReason is null ? "." : $": {_closeReason.Message}");
        // Closed as idle (by the peer, or by this side's timer as a call came in) or lost (reset, broken pipe: a peer
        // that evicted the connection with our request on its way) rather than a protocol violation or a timeout: the
        // call got no answer, and RpcClient may send it again if a second delivery changes nothing (MaySendAgain).
        bool lost = _closeReason is null ? Volatile.Read(ref _peerClosed) || Volatile.Read(ref _closedIdle) : _closeReason is IOException or SocketException;
        return lost ? new ConnectionLostException(message, inner ?? _closeReason) : new ProtocolException(message, inner ?? _closeReason);
    }

    private async Task RunWriterAsync()
    {
        try
        {
            await _writer.RunAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            Abort(ex);
        }
    }

    private async Task ReadDialerLoopAsync()
    {
        try
        {
            while (true)
            {
                Frame? frame;
                try
                {
                    frame = await _reader.ReadAsync(_claimDestination, _closing.Token).ConfigureAwait(false);
                }
                finally
                {
                    // The caller's buffer is theirs again, whatever happened to the frame.
                    Interlocked.Exchange(ref _receiving, null)?.ReceiveFinished();
                }
                if (frame is null)
                {
                    Volatile.Write(ref _peerClosed, true);
                    break;
                }
                Volatile.Write(ref _lastActivity, Environment.TickCount64);
                Volatile.Write(ref _awaitingSince, 0);
                if (frame.BodyCase != Frame.BodyOneofCase.Response)
                    throw new ProtocolException($"The peer sent a {frame.BodyCase} frame where only responses are allowed.");
                if (_pending.TryRemove(frame.RequestId, out var call))
                    call.Completion.TrySetResult(frame.Response);
                // A response to a call that already timed out or was cancelled is dropped.
            }
            Abort(null);
        }
        catch (Exception ex)
        {
            Abort(ex);
        }
    }

    private async Task ReadListenerLoopAsync()
    {
        var global = _globalSlots!;
        try
        {
            while (true)
            {
                // Backpressure: stop reading (TCP pushes back on the peer) while this connection or the server is at its limit.
                await _slots.WaitAsync(_closing.Token).ConfigureAwait(false);
                bool haveGlobal = false;
                try
                {
                    await global.WaitAsync(_closing.Token).ConfigureAwait(false);
                    haveGlobal = true;
                    // Memory: the reader takes the frame's bytes from the budget before reading its body, so while the
                    // server holds its budget's worth of requests and unwritten answers it stops reading (TCP pushes back).
                    Frame? frame;
                    try
                    {
                        frame = await _reader.ReadAsync(_closing.Token).ConfigureAwait(false);
                    }
                    catch (RefusedRequestException refused)
                    {
                        // Refused before it was parsed (too many entries in a repeated field): answer, and read on.
                        await _writer.EnqueueAsync(new Frame { RequestId = refused.RequestId, Response = RpcStatus.Error(StatusCode.InvalidArgument, refused.Message) },
                            _closing.Token).ConfigureAwait(false);
                        _slots.Release();
                        global.Release();
                        continue;
                    }

                    long held = _reader.TakeReserved();
                    if (frame is null) break;
                    var lease = _reader.TakeLease();
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    switch (frame.BodyCase)
                    {
                        case Frame.BodyOneofCase.Request when frame.RequestId != 0 && frame.Request.KindCase != Request.KindOneofCase.None:
                            var cts = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
                            if (frame.DeadlineMs > 0) cts.CancelAfter(TimeSpan.FromMilliseconds(frame.DeadlineMs));
                            if (!_serving.TryAdd(frame.RequestId, cts))
                            {
                                cts.Dispose();
                                _budget?.Release(held);
                                throw new ProtocolException($"The peer reused request id {frame.RequestId} while it was in flight.");
                            }

                            Interlocked.Increment(ref _inFlight);
                            if (IsUseful(frame.Request.KindCase)) Volatile.Write(ref _lastUseful, Environment.TickCount64);
                            haveGlobal = false; // released by the handler task
                            var call = new ServedCall(frame.RequestId, frame.Request, held) { Lease = lease };
                            _ = Task.Run(() => ServeAsync(call, cts));
                            continue;
                        case Frame.BodyOneofCase.Cancel:
                            _budget?.Release(held);
                            if (_serving.TryGetValue(frame.RequestId, out var running)) running.Cancel();
                            break;
                        default:
                            _budget?.Release(held);
                            throw new ProtocolException($"The peer sent a {frame.BodyCase} frame ({frame.Request?.KindCase}) where a request or cancel was expected.");
                    }
                    _slots.Release();
                    global.Release();
                    haveGlobal = false;
                }
                catch
                {
                    _slots.Release();
                    if (haveGlobal) global.Release();
                    throw;
                }
            }
            Abort(null);
        }
        catch (Exception ex)
        {
            Abort(ex);
        }
    }

    /// <summary>A request handed to a handler task; the task lets go of the request as soon as it has the answer.</summary>
    private sealed class ServedCall(ulong requestId, Request request, long budgetHeld)
    {
        public ulong RequestId { get; } = requestId;

        public Request? Request { get; set; } = request;

        public long BudgetHeld { get; set; } = budgetHeld;

        /// <summary>The pooled array the request's shard aliases (<see cref="FrameReader.TakeLease"/>), or null.</summary>
        public byte[]? Lease { get; set; }
    }

    private async Task ServeAsync(ServedCall call, CancellationTokenSource cts)
    {
        Response response;
        ulong requestId = call.RequestId;
        var kind = call.Request!.KindCase;
        RpcMetrics.RequestsServed.Add(1, new KeyValuePair<string, object?>("kind", kind.ToString()));
        try
        {
            response = await _handler!.HandleAsync(call.Request, _callerContext!, cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (ex is not (OperationCanceledException or MeshStorageException or ArgumentException))
                _logger.RequestFailed(ex, kind, RemoteEndPoint);
            response = RpcStatus.FromException(ex);
        }
        finally
        {
            // The request (up to a whole shard) is not needed any more: neither its memory nor its budget is held
            // while the answer waits for the peer to read.
            call.Request = null;
            _budget?.Release(call.BudgetHeld);
            call.BudgetHeld = 0;
            if (call.Lease is { } lease)
            {
                call.Lease = null;
                ArrayPool<byte>.Shared.Return(lease);
            }
        }

        try
        {
            bool cancelledByPeer = cts.IsCancellationRequested && !_closing.IsCancellationRequested && response.Status?.Code is StatusCode.DeadlineExceeded;
            if (!IsClosed && !cancelledByPeer)
            {
                response.Status ??= new Status { Code = StatusCode.Ok };
                var frame = new Frame { RequestId = requestId, Response = response };
                if (frame.CalculateSize() > _options.MaxFrameSize)
                    frame.Response = RpcStatus.Error(StatusCode.Internal, "The response does not fit in one frame.");
                long cost = 0;
                if (_budget is not null)
                {
                    cost = await _budget.AcquireAsync(CostOf(frame), _closing.Token).ConfigureAwait(false);
                    if (!HoldResponse(cost)) return;
                }

                try
                {
                    await _writer.EnqueueAsync(frame, _closing.Token, cost).ConfigureAwait(false);
                }
                catch
                {
                    FreeResponse(cost);
                    throw;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            // The connection is closing; nothing to answer to.
        }
        finally
        {
            _serving.TryRemove(requestId, out _);
            cts.Dispose();
            long now = Environment.TickCount64;
            if (IsUseful(kind)) Volatile.Write(ref _lastUseful, now);
            Interlocked.Decrement(ref _inFlight);
            Volatile.Write(ref _lastActivity, now);
            _slots.Release();
            _globalSlots!.Release();
        }
    }

    private void CheckTimeouts()
    {
        if (IsClosed) return;
        long now = Environment.TickCount64;
        long started = _reader.FrameStartedTicks;
        if (started != 0 && now - started > (long)_options.ReadTimeout.TotalMilliseconds)
        {
            Abort(new TimeoutException($"The peer did not complete a frame within {_options.ReadTimeout.TotalMilliseconds:0} ms."));
            return;
        }
        long writing = _writer.WriteStartedTicks;
        if (writing != 0 && now - writing > (long)_options.ReadTimeout.TotalMilliseconds)
        {
            // A peer that stops reading would keep its unread answers (and their budget) forever.
            Abort(new TimeoutException($"The peer did not read what was sent to it within {_options.ReadTimeout.TotalMilliseconds:0} ms."));
            return;
        }
        // A listener counts idleness from the last useful request (pings and NODE_INFO do not keep a slot); a dialer from
        // its own last call.
        long since = _isDialer ? LastActivity : LastUseful;
        if (InFlight == 0 && _pending.IsEmpty && !_reader.WaitingForBudget && now - since > (long)_options.IdleTimeout.TotalMilliseconds)
            Abort(null, idle: true);
    }

    private long CostOf(Frame frame) => Math.Min(FrameWriter.WireSize(frame, out _), _budget?.Capacity ?? long.MaxValue);

    /// <summary>Counts an answer's bytes against this connection until written; false once the connection is closed.</summary>
    private bool HoldResponse(long cost)
    {
        lock (_budgetLock)
        {
            if (!_budgetSwept)
            {
                _responseBytes += cost;
                return true;
            }
        }

        _budget!.Release(cost);
        return false;
    }

    private void FreeResponse(long cost)
    {
        lock (_budgetLock)
        {
            if (_budgetSwept) return;
            _responseBytes -= cost;
        }

        _budget?.Release(cost);
    }

    /// <summary>After the loops ended: gives back the bytes of answers that were queued or being written and never will be.</summary>
    private void SweepBudget()
    {
        long left;
        lock (_budgetLock)
        {
            _budgetSwept = true;
            left = _responseBytes;
            _responseBytes = 0;
        }

        _budget?.Release(left);
    }

    /// <summary>Closes the connection: fails the calls in flight, stops the loops, releases the socket.</summary>
    public void Abort(Exception? reason, bool idle = false)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _closeReason = reason;
        Volatile.Write(ref _closedIdle, idle);
        if (reason is not null)
            RpcMetrics.PeersDropped.Add(1);
        if (reason is not null)
            _logger.ConnectionDropped(RemoteEndPoint, RemoteId, reason.Message);
        else if (idle)
            _logger.IdleConnectionClosed(RemoteEndPoint);
        _watchdog.Dispose();
        lock (_deadlineLock) _deadlines.Dispose();
        _writer.Complete();
        try { _closing.Cancel(); } catch (AggregateException) { }
        _stream.Dispose();
        foreach (var pending in _pending)
            if (_pending.TryRemove(pending.Key, out var call)) call.Completion.TrySetException(Closed());
        _ = FinishAsync();
    }

    private async Task FinishAsync()
    {
        try
        {
            await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Already reported through Abort.
        }
        finally
        {
            // Whatever ended the loops, the server-wide budget gets this connection's bytes back and the server
            // learns the connection is gone (it frees the slot on Completion).
            _reader.Dispose();
            SweepBudget();
            _completion.TrySetResult();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Abort(null);
        await Completion.ConfigureAwait(false);
    }
}

/// <summary>
/// A call's connection was closed by the peer (cleanly, or reset while the request was on its way) before any answer
/// came: what a listener does to a connection it closes as idle or evicts for a newcomer (or this side's idle timer,
/// as a call came in). <see cref="RpcClient"/> sends such a call once more on a new connection when a second delivery
/// changes nothing (<see cref="RpcClient.MaySendAgain"/>).
/// </summary>
internal sealed class ConnectionLostException(string message, Exception? inner) : ProtocolException(message, inner);
