using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// A node's decode budget: the segment buffers of every file read and every repair it runs take from it, first come
/// first served (a <see cref="ByteBudget"/>), so what manifests ask for never adds up to more than
/// <c>MeshNodeOptions.MaxDecodeMemoryBytes</c>.
/// </summary>
internal sealed class DecodeMemory(long capacity) : IMemoryBudget
{
    private readonly ByteBudget _bytes = new(capacity);
    private long _held;
    private long _peak;

    public long Capacity => _bytes.Capacity;

    /// <summary>The most bytes held at once since the node started (what tests and diagnostics compare with <see cref="Capacity"/>).</summary>
    public long Peak => Volatile.Read(ref _peak);

    public async ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        long taken = await _bytes.AcquireAsync(bytes, cancellationToken).ConfigureAwait(false);
        long held = Interlocked.Add(ref _held, taken);
        HighWater.Raise(ref _peak, held);
        return taken;
    }

    public void Release(long bytes)
    {
        Interlocked.Add(ref _held, -bytes);
        _bytes.Release(bytes);
    }
}
