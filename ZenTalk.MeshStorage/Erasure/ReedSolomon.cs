using System.Buffers;
using System.Collections.Concurrent;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// A systematic Reed-Solomon erasure codec over GF(2^8) (polynomial 0x11D), shaped like klauspost/reedsolomon:
/// <see cref="DataShards"/> data shards plus <see cref="ParityShards"/> parity shards, any
/// <see cref="DataShards"/> of which rebuild the rest. With the default matrix the parity is byte-identical to
/// klauspost/reedsolomon and Backblaze JavaReedSolomon.
/// </summary>
/// <remarks>
/// Thread-safe: one instance may encode, verify and reconstruct from many threads at once. Shards are the caller's
/// buffers (no copies); every shard of a call has the same length. The inner loop is chosen once per process from
/// what the CPU supports (GFNI affine, AVX-512BW / AVX2 / Vector128 split-nibble lookups, or scalar), and Encode
/// allocates nothing in steady state.
/// </remarks>
public sealed class ReedSolomon
{
    private readonly GfMatrix _matrix;
    private readonly CodingPlan _parityPlan;
    private readonly int[] _dataIndices;
    private readonly int[] _parityIndices;
    private readonly ConcurrentDictionary<ErasurePattern, DecodePlan> _decodeCache = new();
    private readonly int _decodeCacheCapacity;
    private readonly int _maxDegreeOfParallelism;
    private readonly int _minBytesPerThread;

    /// <summary>Creates a codec for <paramref name="dataShards"/> data and <paramref name="parityShards"/> parity shards.</summary>
    /// <param name="dataShards">Number of data shards, at least 1.</param>
    /// <param name="parityShards">Number of parity shards, at least 1; data + parity must not exceed 256.</param>
    /// <param name="options">Matrix, threading and cache settings; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A shard count or an option is out of range.</exception>
    public ReedSolomon(int dataShards, int parityShards, ReedSolomonOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dataShards, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parityShards, 1);
        if (dataShards + parityShards > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(parityShards), dataShards + parityShards,
                "Data + parity shards must not exceed 256, the size of GF(2^8).");
        }

        options ??= new ReedSolomonOptions();
        if (options.MaxDegreeOfParallelism < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDegreeOfParallelism, "MaxDegreeOfParallelism must be at least 1.");
        }

        if (options.MinBytesPerThread < 64)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MinBytesPerThread, "MinBytesPerThread must be at least 64.");
        }

        if (options.DecodeCacheCapacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.DecodeCacheCapacity, "DecodeCacheCapacity must not be negative.");
        }

        if (!Enum.IsDefined(options.Matrix))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Matrix, "Unknown matrix kind.");
        }

        DataShards = dataShards;
        ParityShards = parityShards;
        TotalShards = dataShards + parityShards;
        Kernel = KernelSelector.Resolve(options.Kernel);
        Matrix = options.Matrix;
        _maxDegreeOfParallelism = options.MaxDegreeOfParallelism;
        _minBytesPerThread = options.MinBytesPerThread;
        _decodeCacheCapacity = options.DecodeCacheCapacity;
        _matrix = options.Matrix == ReedSolomonMatrix.Cauchy
            ? GfMatrix.Cauchy(dataShards, TotalShards)
            : GfMatrix.Vandermonde(dataShards, TotalShards);
        _parityPlan = new CodingPlan(_matrix.SubRows(dataShards, parityShards), Kernel);
        _dataIndices = Enumerable.Range(0, dataShards).ToArray();
        _parityIndices = Enumerable.Range(dataShards, parityShards).ToArray();
    }

    /// <summary>Number of data shards.</summary>
    public int DataShards { get; }

    /// <summary>Number of parity shards.</summary>
    public int ParityShards { get; }

    /// <summary>Data plus parity shards: the length every shard list passed to this codec must have.</summary>
    public int TotalShards { get; }

    /// <summary>The encoding matrix in use.</summary>
    public ReedSolomonMatrix Matrix { get; }

    /// <summary>The inner loop this codec runs.</summary>
    internal ReedSolomonKernel Kernel { get; }

    /// <summary>The coefficient of data shard <paramref name="column"/> in shard <paramref name="row"/> of the encoding matrix.</summary>
    internal byte MatrixCoefficient(int row, int column) => _matrix[row, column];

    /// <summary>Computes the parity shards from the data shards.</summary>
    /// <param name="shards">All <see cref="TotalShards"/> shards, data first; all the same length. Parity shards
    /// <c>[DataShards..]</c> are overwritten.</param>
    /// <exception cref="ArgumentException">Wrong shard count or unequal shard lengths.</exception>
    public void Encode(ReadOnlySpan<Memory<byte>> shards)
    {
        int size = CheckAllSameLength(shards);
        if (size == 0)
        {
            return;
        }

        var op = new Operation(this, _parityPlan, _dataIndices, _parityIndices, size, verify: false);
        Pin(shards, ref op);
    }

    /// <summary>Checks that the parity shards match the data shards.</summary>
    /// <param name="shards">All <see cref="TotalShards"/> shards, data first; all the same length.</param>
    /// <returns>True if every parity byte equals the parity computed from the data.</returns>
    /// <exception cref="ArgumentException">Wrong shard count or unequal shard lengths.</exception>
    public bool Verify(ReadOnlySpan<Memory<byte>> shards)
    {
        int size = CheckAllSameLength(shards);
        if (size == 0)
        {
            return true;
        }

        var op = new Operation(this, _parityPlan, _dataIndices, _parityIndices, size, verify: true);
        Pin(shards, ref op);
        return op.Verified;
    }

    /// <summary>Rebuilds every missing shard, data and parity, from any <see cref="DataShards"/> present ones.</summary>
    /// <param name="shards">All <see cref="TotalShards"/> shards. Present ones are read; each missing one must be a
    /// buffer of the same length, which is overwritten with the rebuilt shard.</param>
    /// <param name="present">For each shard, whether it holds valid data. Missing shards are marked, never guessed.</param>
    /// <exception cref="ArgumentException">Wrong counts, unequal lengths, or a missing shard without a buffer of the right size.</exception>
    /// <exception cref="ShardsUnavailableException">Fewer than <see cref="DataShards"/> shards are present.</exception>
    public void Reconstruct(ReadOnlySpan<Memory<byte>> shards, ReadOnlySpan<bool> present) => Reconstruct(shards, present, dataOnly: false);

    /// <summary>Rebuilds only the missing data shards; missing parity shards are left untouched (and may be empty).</summary>
    /// <param name="shards">All <see cref="TotalShards"/> shards. Present ones are read; each missing data shard must be
    /// a buffer of the same length, which is overwritten.</param>
    /// <param name="present">For each shard, whether it holds valid data.</param>
    /// <exception cref="ArgumentException">Wrong counts, unequal lengths, or a missing data shard without a buffer of the right size.</exception>
    /// <exception cref="ShardsUnavailableException">Fewer than <see cref="DataShards"/> shards are present.</exception>
    public void ReconstructData(ReadOnlySpan<Memory<byte>> shards, ReadOnlySpan<bool> present) => Reconstruct(shards, present, dataOnly: true);

    /// <summary>The shard length <see cref="Split(ReadOnlySpan{byte})"/> uses for <paramref name="dataLength"/> bytes: ceil(length / DataShards).</summary>
    /// <param name="dataLength">Number of payload bytes, at least 1.</param>
    /// <returns>The length of every shard.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dataLength"/> is less than 1, or the shards would not fit in an array.</exception>
    public int GetShardSize(long dataLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dataLength, 1);
        long size = (dataLength + DataShards - 1) / DataShards;
        if (size * TotalShards > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(dataLength), dataLength, "The data is too large to split into one array; split it into segments first.");
        }

        return (int)size;
    }

    /// <summary>
    /// Copies <paramref name="data"/> into one new buffer cut into <see cref="TotalShards"/> equal shards: the data
    /// shards hold the bytes in order (the last one zero-padded), the parity shards are ready for
    /// <see cref="Encode"/>. Like klauspost's <c>Split</c>.
    /// </summary>
    /// <param name="data">The payload, at least 1 byte.</param>
    /// <returns><see cref="TotalShards"/> shards, slices of a single array.</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> is empty.</exception>
    public Memory<byte>[] Split(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new ArgumentException("There is no data to split.", nameof(data));
        }

        int size = GetShardSize(data.Length);
        var buffer = new byte[size * TotalShards];
        data.CopyTo(buffer);
        return Slice(buffer, size);
    }

    /// <summary>
    /// Cuts <paramref name="buffer"/>, whose first <paramref name="dataLength"/> bytes are the payload, into
    /// <see cref="TotalShards"/> shards without copying: the padding after the payload is zeroed and the parity
    /// shards follow. The buffer must hold <c>GetShardSize(dataLength) * TotalShards</c> bytes.
    /// </summary>
    /// <param name="buffer">Payload followed by room for padding and parity.</param>
    /// <param name="dataLength">Number of payload bytes at the start of <paramref name="buffer"/>.</param>
    /// <returns><see cref="TotalShards"/> shards, slices of <paramref name="buffer"/>.</returns>
    /// <exception cref="ArgumentException">The buffer is too small.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dataLength"/> is less than 1 or larger than the buffer.</exception>
    public Memory<byte>[] Split(Memory<byte> buffer, int dataLength)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dataLength, buffer.Length);
        int size = GetShardSize(dataLength);
        if (buffer.Length < size * TotalShards)
        {
            throw new ArgumentException(
                $"{dataLength} bytes need {size * TotalShards} bytes of buffer ({TotalShards} shards of {size}); the buffer has {buffer.Length}.",
                nameof(buffer));
        }

        buffer.Span[dataLength..(size * DataShards)].Clear();
        return Slice(buffer, size);
    }

    /// <summary>Writes the payload back from the data shards: the first <c>destination.Length</c> bytes of data shards 0, 1, ... in order.</summary>
    /// <param name="shards">All <see cref="TotalShards"/> shards (or at least the data shards, data first).</param>
    /// <param name="destination">Receives the payload; its length is the original data length.</param>
    /// <exception cref="ArgumentException">Too few shards, or the data shards hold fewer bytes than <paramref name="destination"/>.</exception>
    public void Join(ReadOnlySpan<Memory<byte>> shards, Span<byte> destination)
    {
        if (shards.Length < DataShards)
        {
            throw new ArgumentException($"Expected at least the {DataShards} data shards, got {shards.Length}.", nameof(shards));
        }

        long available = 0;
        for (int i = 0; i < DataShards; i++)
        {
            available += shards[i].Length;
        }

        if (available < destination.Length)
        {
            throw new ArgumentException(
                $"The data shards hold {available} bytes, fewer than the {destination.Length} requested; reconstruct missing data shards first.",
                nameof(destination));
        }

        for (int i = 0; i < DataShards && !destination.IsEmpty; i++)
        {
            ReadOnlySpan<byte> shard = shards[i].Span;
            int n = Math.Min(shard.Length, destination.Length);
            shard[..n].CopyTo(destination);
            destination = destination[n..];
        }
    }

    private Memory<byte>[] Slice(Memory<byte> buffer, int size)
    {
        var shards = new Memory<byte>[TotalShards];
        for (int i = 0; i < TotalShards; i++)
        {
            shards[i] = buffer.Slice(i * size, size);
        }

        return shards;
    }

    private void Reconstruct(ReadOnlySpan<Memory<byte>> shards, ReadOnlySpan<bool> present, bool dataOnly)
    {
        CheckShardCount(shards);
        if (present.Length != TotalShards)
        {
            throw new ArgumentException($"Expected {TotalShards} presence flags, one per shard, got {present.Length}.", nameof(present));
        }

        int size = -1, first = -1, count = 0, missing = 0;
        for (int i = 0; i < TotalShards; i++)
        {
            if (!present[i])
            {
                if (!dataOnly || i < DataShards)
                {
                    missing++;
                }

                continue;
            }

            count++;
            int length = shards[i].Length;
            if (size < 0)
            {
                (size, first) = (length, i);
            }
            else if (length != size)
            {
                throw new ArgumentException($"Shard {i} has {length} bytes but shard {first} has {size}; every shard must be the same size.", nameof(shards));
            }
        }

        if (count < DataShards)
        {
            throw new ShardsUnavailableException(
                $"Only {count} of {TotalShards} shards are present; at least {DataShards} are needed to reconstruct. Find more shards and retry.")
            {
                ShardsFound = count, ShardsNeeded = DataShards,
            };
        }

        if (missing == 0)
        {
            return;
        }

        for (int i = 0; i < (dataOnly ? DataShards : TotalShards); i++)
        {
            if (!present[i] && shards[i].Length != size)
            {
                throw new ArgumentException(
                    $"Missing shard {i} must come with a {size}-byte buffer to rebuild into; it has {shards[i].Length} bytes.", nameof(shards));
            }
        }

        if (size == 0)
        {
            return;
        }

        DecodePlan plan = GetDecodePlan(present, dataOnly);
        var op = new Operation(this, plan.Plan, plan.InputShards, plan.OutputShards, size, verify: false);
        Pin(shards, ref op);
    }

    private DecodePlan GetDecodePlan(ReadOnlySpan<bool> present, bool dataOnly)
    {
        if (_decodeCacheCapacity == 0)
        {
            return BuildDecodePlan(present, dataOnly);
        }

        var key = new ErasurePattern(present, dataOnly);
        if (_decodeCache.TryGetValue(key, out DecodePlan? plan))
        {
            return plan;
        }

        plan = BuildDecodePlan(present, dataOnly);
        if (_decodeCache.Count >= _decodeCacheCapacity)
        {
            // A crude bound: patterns change rarely, so starting over is cheaper than tracking recency.
            _decodeCache.Clear();
        }

        return _decodeCache.GetOrAdd(key, plan);
    }

    private DecodePlan BuildDecodePlan(ReadOnlySpan<bool> present, bool dataOnly)
    {
        var inputs = new int[DataShards];
        var outputs = new List<int>();
        int n = 0;
        for (int i = 0; i < TotalShards; i++)
        {
            if (present[i])
            {
                if (n < DataShards)
                {
                    inputs[n++] = i;
                }
            }
            else if (!dataOnly || i < DataShards)
            {
                outputs.Add(i);
            }
        }

        // Rows of the chosen inputs form an invertible square (any DataShards rows of the matrix are independent);
        // its inverse maps the inputs back to the data. A missing parity row is then its encoding row times that
        // inverse, so data and parity are rebuilt in one pass over the inputs.
        GfMatrix decode = _matrix.SelectRows(inputs).Invert();
        var rows = new GfMatrix(outputs.Count, DataShards);
        for (int o = 0; o < outputs.Count; o++)
        {
            int shard = outputs[o];
            for (int c = 0; c < DataShards; c++)
            {
                byte value;
                if (shard < DataShards)
                {
                    value = decode[shard, c];
                }
                else
                {
                    value = 0;
                    for (int j = 0; j < DataShards; j++)
                    {
                        value ^= GaloisField.Mul(_matrix[shard, j], decode[j, c]);
                    }
                }

                rows[o, c] = value;
            }
        }

        return new DecodePlan(inputs, outputs.ToArray(), new CodingPlan(rows, Kernel));
    }

    private void CheckShardCount(ReadOnlySpan<Memory<byte>> shards)
    {
        if (shards.Length != TotalShards)
        {
            throw new ArgumentException(
                $"Expected {TotalShards} shards ({DataShards} data + {ParityShards} parity), got {shards.Length}.", nameof(shards));
        }
    }

    private int CheckAllSameLength(ReadOnlySpan<Memory<byte>> shards)
    {
        CheckShardCount(shards);
        int size = shards[0].Length;
        for (int i = 1; i < shards.Length; i++)
        {
            if (shards[i].Length != size)
            {
                throw new ArgumentException($"Shard {i} has {shards[i].Length} bytes but shard 0 has {size}; every shard must be the same size.", nameof(shards));
            }
        }

        return size;
    }

    // Pins every shard with a `fixed` per recursion level: free for the GC (pinned locals, no handles) and
    // allocation-free, unlike Memory<T>.Pin. Depth is at most 256.
    private static unsafe void Pin(ReadOnlySpan<Memory<byte>> shards, ref Operation op)
    {
        byte** pointers = stackalloc byte*[shards.Length];
        PinFrom(shards, 0, pointers, ref op);
    }

    private static unsafe void PinFrom(ReadOnlySpan<Memory<byte>> shards, int index, byte** pointers, ref Operation op)
    {
        if (index == shards.Length)
        {
            op.Execute(pointers);
            return;
        }

        fixed (byte* p = shards[index].Span)
        {
            pointers[index] = p;
            PinFrom(shards, index + 1, pointers, ref op);
        }
    }

    /// <summary>One Encode / Verify / Reconstruct call once every shard is pinned.</summary>
    private unsafe struct Operation
    {
        // Verify computes parity in column blocks of at most this many bytes per parity shard, into pooled scratch.
        private const int VerifyScratchBytes = 512 * 1024;

        private readonly ReedSolomon _owner;
        private readonly CodingPlan _plan;
        private readonly int[] _inputShards;
        private readonly int[] _outputShards;
        private readonly int _length;
        private readonly bool _verify;

        public Operation(ReedSolomon owner, CodingPlan plan, int[] inputShards, int[] outputShards, int length, bool verify)
        {
            _owner = owner;
            _plan = plan;
            _inputShards = inputShards;
            _outputShards = outputShards;
            _length = length;
            _verify = verify;
            Verified = false;
        }

        public bool Verified { get; private set; }

        public void Execute(byte** shards)
        {
            byte** inputs = stackalloc byte*[_inputShards.Length];
            byte** outputs = stackalloc byte*[_outputShards.Length];
            for (int i = 0; i < _inputShards.Length; i++)
            {
                inputs[i] = shards[_inputShards[i]];
            }

            for (int i = 0; i < _outputShards.Length; i++)
            {
                outputs[i] = shards[_outputShards[i]];
            }

            if (_verify)
            {
                Verified = VerifyParity(inputs, outputs);
                return;
            }

            int threads = Math.Min(_owner._maxDegreeOfParallelism, _length / _owner._minBytesPerThread);
            if (threads < 2)
            {
                _plan.Run(inputs, outputs, 0, _length);
                return;
            }

            RunParallel(inputs, outputs, threads);
        }

        private readonly void RunParallel(byte** inputs, byte** outputs, int threads)
        {
            // Ranges are multiples of 64 bytes so no two threads touch the same cache line of an output.
            nint chunk = ((_length + threads - 1) / threads + 63) & ~63;
            var inputAddresses = new nint[_inputShards.Length];
            var outputAddresses = new nint[_outputShards.Length];
            for (int i = 0; i < inputAddresses.Length; i++)
            {
                inputAddresses[i] = (nint)inputs[i];
            }

            for (int i = 0; i < outputAddresses.Length; i++)
            {
                outputAddresses[i] = (nint)outputs[i];
            }

            CodingPlan plan = _plan;
            nint length = _length;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                nint start = t * chunk;
                nint end = Math.Min(length, start + chunk);
                if (start >= end)
                {
                    return;
                }

                fixed (nint* ins = inputAddresses)
                fixed (nint* outs = outputAddresses)
                {
                    plan.Run((byte**)ins, (byte**)outs, start, end);
                }
            });
        }

        private readonly bool VerifyParity(byte** inputs, byte** parity)
        {
            int outCount = _outputShards.Length;
            int block = Math.Min(_length, Math.Max(64, VerifyScratchBytes / outCount / 64 * 64));
            byte[] scratch = ArrayPool<byte>.Shared.Rent(block * outCount);
            try
            {
                fixed (byte* s = scratch)
                {
                    byte** computed = stackalloc byte*[outCount];
                    for (int start = 0; start < _length; start += block)
                    {
                        int n = Math.Min(block, _length - start);
                        for (int r = 0; r < outCount; r++)
                        {
                            // Shifted so that computed[r] + start is the scratch row: the kernel indexes by shard offset.
                            computed[r] = s + (nint)r * block - start;
                        }

                        _plan.Run(inputs, computed, start, start + n);
                        for (int r = 0; r < outCount; r++)
                        {
                            if (!new ReadOnlySpan<byte>(s + (nint)r * block, n).SequenceEqual(new ReadOnlySpan<byte>(parity[r] + start, n)))
                            {
                                return false;
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            return true;
        }
    }
}
