using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Format;

/// <summary>
/// The plaintext of a file as a forward-only stream. Up to a fixed number of segments are decoded ahead of the
/// reader (in parallel), each into its own pooled buffer; a buffer is handed out only after its segment
/// authenticated. After a failure every further read throws the same error.
/// </summary>
internal sealed class FileDecodingStream : Stream
{
    private readonly FileDecoder _decoder;
    private readonly int _depth;
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

    public FileDecodingStream(FileDecoder decoder, int depth)
    {
        _decoder = decoder;
        _depth = depth;
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
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw _failure;
        }

        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (_current is null || _currentOffset == _currentLength)
        {
            if (_current is not null)
            {
                _free.Push(_current);
                _current = null;
            }

            StartAhead();
            if (!_ahead.TryDequeue(out var next))
            {
                return 0;
            }

            try
            {
                _currentLength = await next.Work!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The read was cancelled, not the decode: the segment is still the next one to read.
                var rest = _ahead.ToArray();
                _ahead.Clear();
                _ahead.Enqueue(next);
                foreach (var s in rest)
                {
                    _ahead.Enqueue(s);
                }

                throw;
            }
            catch (Exception e)
            {
                _failure = e;
                _free.Push(next);
                throw;
            }

            _current = next;
            _currentOffset = 0;
            StartAhead();
        }

        var count = Math.Min(buffer.Length, _currentLength - _currentOffset);
        _current.Buffer.AsMemory(_currentOffset, count).CopyTo(buffer);
        _currentOffset += count;
        _position += count;
        return count;
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
            slot.Work = Task.Run(() => _decoder.DecodeSegmentAsync(index, slot.Buffer, slot.Cipher, token), token);
            _ahead.Enqueue(slot);
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

                slot.Cipher.Dispose();
                FileDecoder.ReturnBuffer(slot.Buffer);
            }

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
