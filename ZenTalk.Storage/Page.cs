namespace ZenTalk.Storage;

/// <summary>One page of a keyset-paged listing.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed record Page<T>
{
    /// <summary>The items of this page, in listing order.</summary>
    public required IReadOnlyList<T> Items { get; init; }

    /// <summary>
    /// Pass this to the same listing call to get the next page; <see langword="null"/> when there are no more items.
    /// Cursors are opaque, stay valid while other writes happen, and never skip or repeat an item.
    /// </summary>
    public string? NextCursor { get; init; }
}
