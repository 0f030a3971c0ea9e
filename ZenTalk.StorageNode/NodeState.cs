using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.StorageNode;

/// <summary>What the REST API, the status page and the metrics read from the running node.</summary>
internal sealed class NodeState(MeshNode node, NodeSettings settings, NodeKeys keys, TransferBudget budget, RecentErrors errors, TimeProvider time)
{
    /// <summary>Cancelled when the node begins to stop (the host's ApplicationStopping).</summary>
    public CancellationToken Stopping { get; set; }

    public MeshNode Node { get; } = node;
    public NodeSettings Settings { get; } = settings;
    public NodeKeys Keys { get; } = keys;
    public TransferBudget Budget { get; } = budget;
    public RecentErrors Errors { get; } = errors;
    public TimeProvider Time { get; } = time;
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public ShardStoreStats Stats() => Node.Shards?.GetStats() ?? default;

    public long? QuotaBytes => Stats().QuotaBytes is var q and < long.MaxValue ? q : null;

    public int FileCount => Node.Files?.Count ?? 0;

    public (DateTimeOffset At, RepairReport Report)? LastRepair => Node.Repair?.LastPass;

    /// <summary>Ready: the node knows at least one peer (it can place and find shards) and its stores are open.</summary>
    public (bool Ready, string Why) Readiness()
    {
        if (Node.IsStopped) return (false, "The mesh node is stopping.");
        if (Node.Shards is null || Node.Files is null) return (false, "The shard store is not open.");
        if (Node.Network.Dht.Table.Count == 0)
            return (false, "The routing table is empty: no peer is known yet. Give the node --bootstrap peers, or wait for peers to contact it.");
        return (true, "ready");
    }
}
