using System.Runtime.InteropServices;

namespace ZenTalk.Benchmarks.Erasure;

/// <summary>
/// The benchmark's shards: one 64-byte-aligned native buffer cut into equal shards, the layout
/// <c>ReedSolomon.Split</c> produces, shared by our codec (as Memory) and ISA-L (as pointers).
/// </summary>
internal sealed unsafe class ErasureShards : IDisposable
{
    private readonly byte* _buffer;

    public ErasureShards(int count, int shardSize)
    {
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)count * (nuint)shardSize, 64);
        Pointers = (byte**)NativeMemory.Alloc((nuint)count, (nuint)sizeof(byte*));
        Memory = new Memory<byte>[count];
        var random = new Random(42);
        for (int i = 0; i < count; i++)
        {
            Pointers[i] = _buffer + (nint)i * shardSize;
            var manager = new NativeShard(Pointers[i], shardSize);
            Memory[i] = manager.Memory;
            random.NextBytes(manager.GetSpan());
        }
    }

    public Memory<byte>[] Memory { get; }

    public byte** Pointers { get; }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_buffer);
        NativeMemory.Free(Pointers);
    }

    private sealed class NativeShard(byte* pointer, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
