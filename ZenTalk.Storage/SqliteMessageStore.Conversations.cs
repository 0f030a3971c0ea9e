using Microsoft.Data.Sqlite;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    private const string ConversationColumns =
        "id, conversation_id, created_at, activity_key, last_message_key, last_message_id, last_preview, last_sender_id, " +
        "unread_count, is_pinned, is_muted, is_archived";

    private static Conversation ReadConversation(SqliteDataReader reader) => new()
    {
        ConversationId = reader.GetString(1),
        CreatedAt = FromUnixMs(reader.GetInt64(2)),
        LastActivityAt = FromUnixMs(MessageKey.UnixMs(reader.GetInt64(3))),
        LastMessageAt = reader.GetNullableInt64(4) is { } key ? FromUnixMs(MessageKey.UnixMs(key)) : null,
        LastMessageId = reader.GetNullableString(5),
        LastMessagePreview = reader.GetNullableString(6),
        LastSenderId = reader.GetNullableString(7),
        UnreadCount = reader.GetInt32(8),
        IsPinned = reader.GetInt64(9) != 0,
        IsMuted = reader.GetInt64(10) != 0,
        IsArchived = reader.GetInt64(11) != 0,
    };

    /// <inheritdoc/>
    public Task<Conversation?> GetConversationAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return ReadAsync(r =>
        {
            using var reader = r.Command($"SELECT {ConversationColumns} FROM conversations WHERE conversation_id = @conversation_id")
                .Bind("@conversation_id", conversationId).ExecuteReader();
            return reader.Read() ? ReadConversation(reader) : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<Page<Conversation>> ListConversationsAsync(bool archived = false, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit, nameof(limit));
        var (pinned, activityKey, rowId) = Cursor.ParseConversation(cursor, nameof(cursor));
        return ReadAsync(r =>
        {
            // Row-value comparison = keyset on (pinned, activity, id), walking ix_conversations_list backwards.
            var command = r.Command(
                $"""
                SELECT {ConversationColumns} FROM conversations
                WHERE is_archived = @archived AND (is_pinned, activity_key, id) < (@pinned, @activity_key, @id)
                ORDER BY is_pinned DESC, activity_key DESC, id DESC
                LIMIT @limit
                """)
                .Bind("@archived", archived ? 1 : 0)
                .Bind("@pinned", pinned)
                .Bind("@activity_key", activityKey)
                .Bind("@id", rowId)
                .Bind("@limit", limit + 1);
            var items = new List<Conversation>(limit);
            string? next = null;
            using var reader = command.ExecuteReader();
            (bool Pinned, long Activity, long Id) last = default;
            while (reader.Read())
            {
                if (items.Count == limit)
                {
                    next = Cursor.FromConversation(last.Pinned, last.Activity, last.Id);
                    break;
                }
                items.Add(ReadConversation(reader));
                last = (reader.GetInt64(9) != 0, reader.GetInt64(3), reader.GetInt64(0));
            }
            return new Page<Conversation> { Items = items, NextCursor = next };
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> MarkConversationReadAsync(string conversationId, string? upToMessageId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        if (upToMessageId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(upToMessageId);
        }
        return WriteAsync(w =>
        {
            var upTo = long.MaxValue;
            if (upToMessageId is not null)
            {
                var key = w.Command("SELECT id FROM messages WHERE message_id = @message_id AND conversation_id = @conversation_id")
                    .Bind("@message_id", upToMessageId)
                    .Bind("@conversation_id", conversationId)
                    .ExecuteScalar();
                if (key is not long found)
                {
                    return 0;
                }
                upTo = found;
            }
            var changed = w.Command(
                """
                UPDATE messages SET status = 4
                WHERE conversation_id = @conversation_id AND direction = 1 AND status < 4 AND deleted_at IS NULL
                  AND from_blocked = 0 AND id <= @up_to
                """)
                .Bind("@conversation_id", conversationId)
                .Bind("@up_to", upTo)
                .ExecuteNonQuery();
            if (changed > 0)
            {
                RefreshUnread(w, conversationId);
            }
            return changed;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> SetConversationPinnedAsync(string conversationId, bool pinned, CancellationToken cancellationToken = default) =>
        SetConversationFlagAsync(conversationId, "is_pinned", pinned, cancellationToken);

    /// <inheritdoc/>
    public Task<bool> SetConversationMutedAsync(string conversationId, bool muted, CancellationToken cancellationToken = default) =>
        SetConversationFlagAsync(conversationId, "is_muted", muted, cancellationToken);

    /// <inheritdoc/>
    public Task<bool> SetConversationArchivedAsync(string conversationId, bool archived, CancellationToken cancellationToken = default) =>
        SetConversationFlagAsync(conversationId, "is_archived", archived, cancellationToken);

    private Task<bool> SetConversationFlagAsync(string conversationId, string column, bool value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return WriteAsync(w =>
            w.Command($"UPDATE conversations SET {column} = @value WHERE conversation_id = @conversation_id")
                .Bind("@value", value ? 1 : 0)
                .Bind("@conversation_id", conversationId)
                .ExecuteNonQuery() == 1, cancellationToken);
    }
}
