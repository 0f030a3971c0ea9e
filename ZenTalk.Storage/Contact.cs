namespace ZenTalk.Storage;

/// <summary>
/// A contact. <see cref="IContactRepository.UpsertContactAsync"/> takes <see cref="ContactId"/>,
/// <see cref="DisplayName"/> and <see cref="PublicKey"/>; the other fields are managed by the store.
/// </summary>
public sealed record Contact
{
    /// <summary>The contact's stable id (the same id used as <see cref="Message.SenderId"/>).</summary>
    public required string ContactId { get; init; }

    /// <summary>The name shown in the UI; searchable.</summary>
    public required string DisplayName { get; init; }

    /// <summary>The contact's public key, if known.</summary>
    public byte[]? PublicKey { get; init; }

    /// <summary>When the contact was first added; an upsert of an existing contact keeps it.</summary>
    public DateTimeOffset AddedAt { get; init; }

    /// <summary>When the contact was last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Whether the contact is blocked: their incoming messages are flagged and not counted as unread.</summary>
    public bool IsBlocked { get; init; }

    /// <summary>Whether the user marked the contact as a favourite.</summary>
    public bool IsFavorite { get; init; }
}
