using System.Globalization;
using System.Runtime.InteropServices;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The bytes a shard store's holds account for, per owner key, per sending peer and per sender address prefix, and
/// the limits on each (<see cref="ShardStoreOptions"/>). Every hold counts its shard's full length for its owner, its
/// sender and its prefix. Not thread-safe: the store calls it under its quota lock.
/// </summary>
internal sealed class ShardAccounting(ShardStoreOptions options)
{
    private readonly Dictionary<Sha256Hash, long> _owners = [];
    private readonly Dictionary<NodeId, long> _senders = [];
    private readonly Dictionary<UInt128, long> _prefixes = [];

    public long OwnerBytes(Sha256Hash owner) => _owners.GetValueOrDefault(owner);

    public long SenderBytes(NodeId sender) => _senders.GetValueOrDefault(sender);

    public long PrefixBytes(UInt128 prefix) => _prefixes.GetValueOrDefault(prefix);

    public int Owners => _owners.Count;

    /// <summary>Why one more hold of <paramref name="bytes"/> would break a limit, or null when it fits.</summary>
    public string? Exceeds(ShardHold hold, long bytes)
    {
        if (!hold.Owner.IsZero && OwnerBytes(hold.Owner) + bytes > options.OwnerLimit)
            return Describe("one owner key", options.OwnerLimit, "owner " + hold.Owner, OwnerBytes(hold.Owner), bytes);
        if (hold.Sender == options.UnlimitedSender) return null;
        if (hold.Sender != NodeId.Zero && SenderBytes(hold.Sender) + bytes > options.SenderLimit)
            return Describe("one peer", options.SenderLimit, "peer " + hold.Sender.ToString()[..16], SenderBytes(hold.Sender), bytes);
        if (hold.SenderPrefix != UInt128.Zero && PrefixBytes(hold.SenderPrefix) + bytes > options.PrefixLimit)
            return Describe("one address prefix", options.PrefixLimit, "the sender's prefix", PrefixBytes(hold.SenderPrefix), bytes);
        return null;
    }

    public void Add(ShardHold hold, long bytes)
    {
        Change(_owners, hold.Owner, bytes);
        Change(_senders, hold.Sender, bytes);
        Change(_prefixes, hold.SenderPrefix, bytes);
    }

    public void Remove(ShardHold hold, long bytes) => Add(hold, -bytes);

    private static void Change<TKey>(Dictionary<TKey, long> totals, TKey key, long bytes)
        where TKey : notnull
    {
        ref var total = ref CollectionsMarshal.GetValueRefOrAddDefault(totals, key, out _);
        total += bytes;
        if (total == 0) totals.Remove(key);
    }

    private static string Describe(string whose, long limit, string who, long held, long bytes) => string.Create(CultureInfo.InvariantCulture,
        $"This node keeps at most {limit} bytes of shards for {whose}; {who} already accounts for {held}, and this {bytes}-byte shard would pass it. Store it on another node.");
}
