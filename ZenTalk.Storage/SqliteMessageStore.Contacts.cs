using Microsoft.Data.Sqlite;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    private const string ContactColumns = "contact_id, display_name, public_key, added_at, updated_at, is_blocked, is_favorite";

    /// <inheritdoc/>
    public Task<Contact> UpsertContactAsync(Contact contact, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contact);
        if (string.IsNullOrWhiteSpace(contact.ContactId))
        {
            throw new ArgumentException("Contact.ContactId must not be empty.", nameof(contact));
        }
        if (contact.DisplayName is null)
        {
            throw new ArgumentException("Contact.DisplayName must not be null.", nameof(contact));
        }
        return WriteAsync(w =>
        {
            // A known public key is kept when the update does not carry one.
            var command = w.Command(
                $"""
                INSERT INTO contacts (contact_id, display_name, public_key, added_at, updated_at)
                VALUES (@contact_id, @display_name, @public_key, @now, @now)
                ON CONFLICT (contact_id) DO UPDATE SET
                    display_name = excluded.display_name,
                    public_key = coalesce(excluded.public_key, public_key),
                    updated_at = excluded.updated_at
                RETURNING {ContactColumns}
                """)
                .Bind("@contact_id", contact.ContactId)
                .Bind("@display_name", contact.DisplayName)
                .Bind("@public_key", contact.PublicKey)
                .Bind("@now", NowMs);
            using var reader = command.ExecuteReader();
            reader.Read();
            return ReadContact(reader);
        }, cancellationToken);
    }

    private static Contact ReadContact(SqliteDataReader reader) => new()
    {
        ContactId = reader.GetString(0),
        DisplayName = reader.GetString(1),
        PublicKey = reader.GetNullableBytes(2),
        AddedAt = FromUnixMs(reader.GetInt64(3)),
        UpdatedAt = FromUnixMs(reader.GetInt64(4)),
        IsBlocked = reader.GetInt64(5) != 0,
        IsFavorite = reader.GetInt64(6) != 0,
    };

    /// <inheritdoc/>
    public Task<Contact?> GetContactAsync(string contactId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contactId);
        return ReadAsync(r =>
        {
            using var reader = r.Command($"SELECT {ContactColumns} FROM contacts WHERE contact_id = @contact_id")
                .Bind("@contact_id", contactId).ExecuteReader();
            return reader.Read() ? ReadContact(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<Contact>> ListContactsAsync(string? nameContains = null, CancellationToken cancellationToken = default)
    {
        // LIKE wildcards in the user's text are escaped so "50%" looks for "50%", not "50 followed by anything".
        var pattern = string.IsNullOrEmpty(nameContains)
            ? null
            : "%" + nameContains.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
        return ReadAsync<IReadOnlyList<Contact>>(r =>
        {
            var command = r.Command(
                $"""
                SELECT {ContactColumns} FROM contacts
                WHERE @pattern IS NULL OR display_name LIKE @pattern ESCAPE '\'
                ORDER BY display_name COLLATE NOCASE, contact_id
                """)
                .Bind("@pattern", pattern);
            var list = new List<Contact>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                list.Add(ReadContact(reader));
            }
            return list;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> SetContactBlockedAsync(string contactId, bool blocked, CancellationToken cancellationToken = default) =>
        SetContactFlagAsync(contactId, "is_blocked", blocked, cancellationToken);

    /// <inheritdoc/>
    public Task<bool> SetContactFavoriteAsync(string contactId, bool favorite, CancellationToken cancellationToken = default) =>
        SetContactFlagAsync(contactId, "is_favorite", favorite, cancellationToken);

    private Task<bool> SetContactFlagAsync(string contactId, string column, bool value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contactId);
        return WriteAsync(w =>
            w.Command($"UPDATE contacts SET {column} = @value, updated_at = @now WHERE contact_id = @contact_id")
                .Bind("@value", value ? 1 : 0)
                .Bind("@now", NowMs)
                .Bind("@contact_id", contactId)
                .ExecuteNonQuery() == 1, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> DeleteContactAsync(string contactId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contactId);
        return WriteAsync(w =>
            w.Command("DELETE FROM contacts WHERE contact_id = @contact_id")
                .Bind("@contact_id", contactId)
                .ExecuteNonQuery() == 1, cancellationToken);
    }
}
