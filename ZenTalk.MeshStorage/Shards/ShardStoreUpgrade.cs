namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// One step that upgrades a shard store directory from layout <see cref="From"/> to the next.
/// <see cref="ShardStoreLayout"/> runs it crash-safely: <see cref="Stage"/> builds the new tree off to the side, the
/// tree is moved into place, <c>VERSION</c> is rewritten (the commit), then <see cref="Cleanup"/> removes the old files.
/// </summary>
internal sealed class ShardStoreUpgrade
{
    /// <summary>The layout this step reads; it writes <see cref="From"/> + 1.</summary>
    public required int From { get; init; }

    /// <summary>
    /// The directory under the store's root that the step builds (<see cref="ShardStoreLayout.PacksDirectory"/> for one
    /// that writes packs). It must not exist in layout <see cref="From"/>: after a crash before the commit, whatever is
    /// there was moved in by the interrupted run and is removed before the step starts over.
    /// </summary>
    public required string Tree { get; init; }

    /// <summary>
    /// Builds the tree in <see cref="ShardStoreUpgradeContext.Staged"/> from the files of layout <see cref="From"/>,
    /// which it must leave as they are; returns how many shards it carried over. Blocking (it runs off the thread
    /// pool), and run again from the start after a crash.
    /// </summary>
    public required Func<ShardStoreUpgradeContext, int> Stage { get; init; }

    /// <summary>
    /// Removes what is left of layout <see cref="From"/> from the store's root (its argument) after the commit. Run
    /// again after a crash, so it must not mind files that are already gone.
    /// </summary>
    public required Action<string> Cleanup { get; init; }
}
