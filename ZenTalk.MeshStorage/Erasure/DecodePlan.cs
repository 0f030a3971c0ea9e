namespace ZenTalk.MeshStorage.Erasure;

/// <summary>How to rebuild the shards missing in one erasure pattern: which shards to read, which to write, and the matrix.</summary>
internal sealed class DecodePlan
{
    public DecodePlan(int[] inputShards, int[] outputShards, CodingPlan plan)
    {
        InputShards = inputShards;
        OutputShards = outputShards;
        Plan = plan;
    }

    /// <summary>The first DataShards present shards, in index order.</summary>
    public int[] InputShards { get; }

    /// <summary>The shards rebuilt, in index order.</summary>
    public int[] OutputShards { get; }

    public CodingPlan Plan { get; }
}
