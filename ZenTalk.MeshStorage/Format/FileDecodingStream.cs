using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// The plaintext of a file as a forward-only stream. Up to a fixed number of segments are decoded ahead of the
/// reader (in parallel), each into its own pooled buffer; a buffer is handed out only after its segment
/// authenticated. After a failure every further read throws the same error. With a memory budget, the first read
/// takes every buffer's share of it at once (so two reads can never each hold part of what the other waits for), and
/// gives it back at the end of the file or when the stream is disposed.
/// </summary>
internal sealed class FileDecodingStream : Stream
{
    private readonly FileDecoder _decoder;
    private readonly int _depth;
    private readonly IMemoryBudget? _budget;
    private long _reserved;
    private readonly Queue<Slot> _ahead = new();
    private readonly Stack<Slot> _free = new();
    private readonly List<Slot> _all = new();
    private readonly CancellationTokenSource _disposeCts = new();
    private int _nextToStart;
    private Slot? _current;
    private int _currentOffset;
    private int _currentLength;
    private long _position;
    private Exception? _failure;
    private bool _disposed;

    public FileDecodingStream(FileDecoder decoder, int depth, IMemoryBudget? budget = null)
    {
        _decoder = decoder;
        _depth = depth;
        _budget = budget;
    }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _decoder.Manifest.PlaintextSize;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("The decoded file stream reads forward only.");
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var temp = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var n = ReadAsync(temp.AsMemory(0, buffer.Length), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            temp.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(temp);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return 0;
        }

        if (!await AdvanceAsync(cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        var count = Math.Min(buffer.Length, _currentLength - _currentOffset);
        _current!.Buffer.AsMemory(_currentOffset, count).CopyTo(buffer);
        _currentOffset += count;
        _position += count;
        return count;
    }

    /// <summary>Writes each authenticated segment straight from its buffer (no intermediate copy).</summary>
    public override async Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        while (await AdvanceAsync(cancellationToken).ConfigureAwait(false))
        {
            var count = _currentLength - _currentOffset;
            await destination.WriteAsync(_current!.Buffer.AsMemory(_currentOffset, count), cancellationToken).ConfigureAwait(false);
            _currentOffset += count;
            _position += count;
        }
    }

    /// <summary>Makes <see cref="_current"/> a segment with unread bytes; false at the end of the file.</summary>
    private async ValueTask<bool> AdvanceAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw _failure;
        }

        while (_current is null || _currentOffset == _currentLength)
        {
            if (_current is not null)
            {
                _free.Push(_current);
                _current = null;
            }

            if (_budget is not null && _reserved == 0 && _nextToStart == 0)
            {
                _reserved = await _budget.AcquireAsync(_depth * _decoder.SlotCost, cancellationToken).ConfigureAwait(false);
            }

            StartAhead();
            if (!_ahead.TryPeek(out var next))
            {
                // The end: no decode is running, so the buffers and their share of the budget can go back now.
                ReleaseSlots();
                return false;
            }

            try
            {
                _currentLength = await next.Work!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The read was cancelled, not the decode: the segment stays first in line.
                throw;
            }
            catch (Exception e)
            {
                _failure = e;
                throw;
            }

            _ahead.Dequeue();
            _current = next;
            _currentOffset = 0;
            StartAhead();
        }

        return true;
    }

    private void StartAhead()
    {
        while (_ahead.Count < _depth && _nextToStart < _decoder.Manifest.SegmentCount)
        {
            if (!_free.TryPop(out var slot))
            {
                slot = new Slot(FileDecoder.RentBuffer(_decoder.SegmentBufferSize), _decoder.CreateCipher());
                _all.Add(slot);
            }

            var index = _nextToStart++;
            var token = _disposeCts.Token;
            // With one segment in flight nothing runs in parallel anyway: decode on the reader's thread.
            slot.Work = _depth == 1
                ? _decoder.DecodeSegmentAsync(index, slot.Buffer, slot.Cipher, token)
                : Task.Run(() => _decoder.DecodeSegmentAsync(index, slot.Buffer, slot.Cipher, token), token);
            _ahead.Enqueue(slot);
        }
    }

    /// <summary>Gives back every buffer (cleared) and the budget they held; only when no decode is running.</summary>
    private void ReleaseSlots()
    {
        foreach (var slot in _all)
        {
            slot.Cipher.Dispose();
            _decoder.ReturnBuffer(slot.Buffer);
        }

        _all.Clear();
        _free.Clear();
        if (_reserved > 0)
        {
            _budget!.Release(_reserved);
            _reserved = 0;
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("The decoded file stream reads forward only.");

    public override void SetLength(long value) => throw new NotSupportedException("The decoded file stream is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The decoded file stream is read-only.");

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _disposeCts.Cancel();
            foreach (var slot in _all)
            {
                try
                {
                    slot.Work?.Wait();
                }
                catch (AggregateException)
                {
                    // Cancelled or failed decodes: their buffers are returned below either way.
                }
            }

            ReleaseSlots();
            _disposeCts.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposeCts.Cancel();
            foreach (var slot in _all)
            {
                if (slot.Work is { } work)
                {
                    try
                    {
                        await work.ConfigureAwait(false);
                    }
                    catch (Exception)
                    {
                        // Cancelled or failed decodes: their buffers are returned in Dispose either way.
                    }
                }
            }
        }

        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private sealed class Slot(byte[] buffer, SegmentCipher cipher)
    {
        public byte[] Buffer { get; } = buffer;

        public SegmentCipher Cipher { get; } = cipher;

        public Task<int>? Work { get; set; }
    }
}
