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

    public long Capacity => _bytes.Capacity;

    public ValueTask<long> AcquireAsync(long bytes, CancellationToken cancellationToken) => _bytes.AcquireAsync(bytes, cancellationToken);

    public void Release(long bytes) => _bytes.Release(bytes);
}
