namespace ZenTalk.Storage;

/// <summary>
/// The user's contacts: add or update, look up, list by name, block, mark as favourite, delete.
/// </summary>
/// <remarks>
/// Implemented by <see cref="SqliteMessageStore"/>. Every method validates its arguments
/// (<see cref="ArgumentException"/> naming the parameter) before touching the database, and reports storage
/// failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IContactRepository
{
    /// <summary>Adds a contact or updates its name and key; the first-added time and flags are kept.</summary>
    /// <param name="contact">The contact (<see cref="Contact.ContactId"/>, <see cref="Contact.DisplayName"/>, <see cref="Contact.PublicKey"/>).</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns>The contact as stored.</returns>
    Task<Contact> UpsertContactAsync(Contact contact, CancellationToken cancellationToken = default);

    /// <summary>Gets a contact.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The contact, or <see langword="null"/> if unknown.</returns>
    Task<Contact?> GetContactAsync(string contactId, CancellationToken cancellationToken = default);

    /// <summary>Lists contacts ordered by display name, optionally only those whose name contains a text.</summary>
    /// <param name="nameContains">Case-insensitive (ASCII) text to look for in the name, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching contacts.</returns>
    Task<IReadOnlyList<Contact>> ListContactsAsync(string? nameContains = null, CancellationToken cancellationToken = default);

    /// <summary>Blocks or unblocks a contact. Messages that arrive from a blocked contact are flagged.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="blocked">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> SetContactBlockedAsync(string contactId, bool blocked, CancellationToken cancellationToken = default);

    /// <summary>Marks or unmarks a contact as a favourite.</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="favorite">The new state.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> SetContactFavoriteAsync(string contactId, bool favorite, CancellationToken cancellationToken = default);

    /// <summary>Deletes a contact (their messages stay).</summary>
    /// <param name="contactId">The contact id.</param>
    /// <param name="cancellationToken">Cancels waiting for the writer.</param>
    /// <returns><see langword="false"/> if the contact is unknown.</returns>
    Task<bool> DeleteContactAsync(string contactId, CancellationToken cancellationToken = default);
}
