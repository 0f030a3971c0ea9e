namespace ZenTalk.Storage;

/// <summary>One page of a keyset-paged listing.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">The items of this page, in listing order.</param>
/// <param name="NextCursor">
/// Pass this to the same listing call to get the next page; <see langword="null"/> when there are no more items.
/// Cursors are opaque, stay valid while other writes happen, and never skip or repeat an item.
/// </param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
