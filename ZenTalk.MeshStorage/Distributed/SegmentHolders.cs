using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>Who holds which shard of one segment, as the closest nodes answered HAS_SHARDS.</summary>
internal sealed class SegmentHolders
{
    private SegmentHolders(List<PeerContact> candidates, List<PeerContact>[] byShard, int answered)
    {
        Candidates = candidates;
        ByShard = byShard;
        Answered = answered;
    }

    /// <summary>The nodes closest to the segment key that were asked (answering or not), closest first.</summary>
    public List<PeerContact> Candidates { get; }

    /// <summary>For each shard index, the nodes that claim to hold it.</summary>
    public List<PeerContact>[] ByShard { get; }

    public int ShardsFound => ByShard.Count(h => h.Count > 0);

    /// <summary>How many candidates answered (the others' shards are unknown, not absent).</summary>
    public int Answered { get; }

    /// <summary>Asks every candidate which of the segment's shards it holds (one HAS_SHARDS each, in parallel).</summary>
    public static async Task<SegmentHolders> LocateAsync(ShardClient client, List<PeerContact> candidates, Sha256Hash[] hashes, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(candidates.Select(c => client.HasAsync(c, hashes, cancellationToken))).ConfigureAwait(false);
        var byShard = new List<PeerContact>[hashes.Length];
        for (int j = 0; j < byShard.Length; j++)
        {
            byShard[j] = [];
            for (int i = 0; i < candidates.Count; i++)
                if (answers[i] is { } present && present[j]) byShard[j].Add(candidates[i]);
        }

        return new SegmentHolders(candidates, byShard, answers.Count(a => a is not null));
    }

    /// <summary>
    /// Asks the nodes of <paramref name="table"/> that a lookup's <paramref name="asked"/> left out which of the segment's
    /// shards they hold: holders a lookup can miss. It does not wait for peers that failed a moment ago (after a partition
    /// heals, the far side's nodes count as failing for a while, and hold what was stored there), and a file stored while a
    /// partition hid half the mesh sits partly on nodes that rank beyond the k closest once it healed.
    /// </summary>
    public static Task<SegmentHolders> LocateOutsideAsync(ShardClient client, IEnumerable<PeerContact> table, IEnumerable<PeerContact> asked,
        Sha256Hash[] hashes, CancellationToken cancellationToken)
    {
        var skip = asked.Select(c => c.Id).ToHashSet();
        return LocateAsync(client, table.Where(c => !skip.Contains(c.Id)).ToList(), hashes, cancellationToken);
    }
}
