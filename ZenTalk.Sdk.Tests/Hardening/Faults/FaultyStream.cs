using System.Net.Sockets;

namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>
/// One outbound TCP connection of a node, below TLS, with the faults its <see cref="FaultNetwork"/> says: a delay per
/// chunk (slow node), silence (partition in Drop mode), a reset (partition in Reset mode, or a cut strictly inside a
/// TLS record), and two whole records swapped on the way out. TLS itself stays real: a cut or a swap is seen by the
/// node exactly as the network would show it (a connection reset, or a record that fails authentication).
/// </summary>
internal sealed class FaultyStream : Stream
{
    private readonly FaultNetwork _network;
    private readonly Stream _inner;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private TlsRecordTracker _readRecords;
    private TlsRecordTracker _writeRecords;
    private byte[]? _held;
    private volatile bool _dead;
    private volatile bool _dropped;

    private readonly int _remotePort;

    public FaultyStream(FaultNetwork network, Stream inner, int from, int remotePort)
    {
        _network = network;
        _inner = inner;
        From = from;
        _remotePort = remotePort;
    }

    public int From { get; }

    /// <summary>The remote node's index, looked up on every use: connections dialed before the network learned the
    /// nodes' ports (while the mesh started) are faulted like the others.</summary>
    public int To => _network.IndexOf(_remotePort);

    /// <summary>Whether bytes were dropped (the TLS session cannot continue afterwards).</summary>
    public bool DroppedBytes => _dropped;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Resets the connection (RST, not an orderly close), as a crashed host or middlebox would.</summary>
    public void Abort()
    {
        if (_dead) return;
        _dead = true;
        if (_inner is NetworkStream ns)
        {
            try
            {
                ns.Socket.LingerState = new LingerOption(true, 0);
                ns.Socket.Close();
            }
            catch (ObjectDisposedException)
            {
                // Already closed.
            }
        }
        else
        {
            _inner.Dispose();
        }
        _network.Closed(this);
    }

    private void ThrowIfDead()
    {
        if (_dead) throw new IOException("fault injection: the connection was reset");
    }

    private bool Dropping => _network.Blocked(From, To) && _network.Mode == PartitionMode.Drop;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ThrowIfDead();
            int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0) return 0;
            ThrowIfDead();
            if (Dropping)
            {
                _dropped = true;
                _network.CountDropped();
                continue;
            }
            var delay = _network.DelayFor(From, To);
            if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            if (_network.Chance(_network.CutProbability) || _network.TakeArmedCut(From, To, n))
            {
                int cut = _readRecords.MidBodyOffset(buffer.Span[..n]);
                if (cut > 0)
                {
                    // The node gets the first part of a record, then the reset.
                    _network.CountCut();
                    Abort();
                    return cut;
                }
            }
            _readRecords.Advance(buffer.Span[..n]);
            return n;
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDead();
            if (Dropping)
            {
                _dropped = true;
                _network.CountDropped();
                _writeRecords.Advance(buffer.Span);
                return;
            }
            var delay = _network.DelayFor(From, To);
            if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            if (_network.Chance(_network.CutProbability))
            {
                int cut = _writeRecords.MidBodyOffset(buffer.Span);
                if (cut > 0)
                {
                    await _inner.WriteAsync(buffer[..cut], cancellationToken).ConfigureAwait(false);
                    await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
                    _network.CountCut();
                    Abort();
                    ThrowIfDead();
                }
            }
            bool whole = _writeRecords.IsWholeApplicationRecords(buffer.Span);
            _writeRecords.Advance(buffer.Span);
            if (_held is { } held)
            {
                // A record was held back: this one overtakes it.
                _held = null;
                await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                await _inner.WriteAsync(held, cancellationToken).ConfigureAwait(false);
                _network.CountReorder();
                return;
            }
            if (whole && _network.Chance(_network.ReorderProbability))
            {
                _held = buffer.ToArray();
                _ = FlushHeldLaterAsync();
                return;
            }
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>How long a record is held back waiting for one to overtake it.</summary>
    public static readonly TimeSpan HoldTime = TimeSpan.FromMilliseconds(200);

    // A held record is sent alone when nothing overtakes it soon, so a lone request is delayed, not lost.
    private async Task FlushHeldLaterAsync()
    {
        await Task.Delay(HoldTime).ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_held is { } held && !_dead)
            {
                _held = null;
                await _inner.WriteAsync(held).ConfigureAwait(false);
                await _inner.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // The connection went away meanwhile; the node sees that on its own reads.
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _dead || _held is not null ? Task.CompletedTask : _inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _dead = true;
            _network.Closed(this);
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
