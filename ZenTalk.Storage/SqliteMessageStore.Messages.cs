using Microsoft.Data.Sqlite;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    internal const int PreviewLength = 120;

    internal const string MessageColumns =
        "m.id, m.message_id, m.conversation_id, m.sender_id, m.sent_at, m.received_at, m.body, m.content_type, " +
        "m.status, m.direction, m.reply_to, m.edited_at, m.deleted_at, m.from_blocked, m.attachment_count, m.recipients";

    private const string InsertMessageSql =
        """
        INSERT INTO messages (id, message_id, conversation_id, sender_id, sent_at, received_at, body, content_type,
                              status, direction, reply_to, from_blocked, attachment_count, recipients)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
        ON CONFLICT DO NOTHING
        """;

    private const string UpsertConversationSql =
        """
        INSERT INTO conversations (conversation_id, created_at, activity_key, last_message_key, last_message_id,
                                   last_preview, last_sender_id, unread_count)
        VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)
        ON CONFLICT (conversation_id) DO UPDATE SET
            unread_count = unread_count + excluded.unread_count,
            activity_key = max(activity_key, excluded.activity_key),
            last_message_id = CASE WHEN last_message_key IS NULL OR excluded.last_message_key > last_message_key
                                   THEN excluded.last_message_id ELSE last_message_id END,
            last_preview = CASE WHEN last_message_key IS NULL OR excluded.last_message_key > last_message_key
                                THEN excluded.last_preview ELSE last_preview END,
            last_sender_id = CASE WHEN last_message_key IS NULL OR excluded.last_message_key > last_message_key
                                  THEN excluded.last_sender_id ELSE last_sender_id END,
            last_message_key = CASE WHEN last_message_key IS NULL OR excluded.last_message_key > last_message_key
                                    THEN excluded.last_message_key ELSE last_message_key END
        """;

    private const string UnreadCountSql =
        "SELECT count(*) FROM messages WHERE conversation_id = @conversation_id AND direction = 1 AND status < 4 AND deleted_at IS NULL AND from_blocked = 0";

    /// <inheritdoc/>
    public Task<bool> SaveMessageAsync(Message message, CancellationToken cancellationToken = default)
    {
        ValidateMessage(message, nameof(message));
        Message[] batch = [message];
        return WriteAsync(w => SaveCore(w, batch) == 1, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> SaveMessagesAsync(IEnumerable<Message> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var batch = messages.ToArray();
        foreach (var message in batch)
        {
            ValidateMessage(message, nameof(messages));
        }
        return batch.Length == 0 ? Task.FromResult(0) : WriteAsync(w => SaveCore(w, batch), cancellationToken);
    }

    private static void ValidateMessage(Message? message, string paramName)
    {
        if (message is null)
        {
            throw new ArgumentNullException(paramName, "A message is null.");
        }
        static void Require(string? value, string what, string paramName)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"{what} must not be empty.", paramName);
            }
        }
        Require(message.MessageId, "Message.MessageId", paramName);
        Require(message.ConversationId, "Message.ConversationId", paramName);
        Require(message.SenderId, "Message.SenderId", paramName);
        Require(message.ContentType, "Message.ContentType", paramName);
        if (message.Body is null)
        {
            throw new ArgumentException("Message.Body must not be null (use an empty string).", paramName);
        }
        if (message.SentAt < DateTimeOffset.UnixEpoch || message.SentAt >= MessageKey.MaxSentAt)
        {
            throw new ArgumentException($"Message.SentAt ({message.SentAt:O}) must be between 1970-01-01 and 2200-01-01.", paramName);
        }
        if (!Enum.IsDefined(message.Status) || !Enum.IsDefined(message.Direction))
        {
            throw new ArgumentException("Message.Status or Message.Direction is not a defined value.", paramName);
        }
        Recipients.Validate(message.RecipientIds, paramName);
        if (message.Attachments is null)
        {
            throw new ArgumentException("Message.Attachments must not be null (use an empty list).", paramName);
        }
        foreach (var attachment in message.Attachments)
        {
            if (attachment is null)
            {
                throw new ArgumentException("Message.Attachments contains null.", paramName);
            }
            Require(attachment.FileName, "Attachment.FileName", paramName);
            Require(attachment.MimeType, "Attachment.MimeType", paramName);
            if (attachment.Sha256 is null || attachment.Sha256.Length != 32)
            {
                throw new ArgumentException("Attachment.Sha256 must be 32 bytes.", paramName);
            }
            if (attachment.Size < 0)
            {
                throw new ArgumentException("Attachment.Size must not be negative.", paramName);
            }
            if (attachment.Content is { } content)
            {
                if (attachment.Cid is not null || attachment.ContentKey is not null)
                {
                    throw new ArgumentException("An inline attachment (Attachment.Content set) must not have a Cid or ContentKey.", paramName);
                }
                if (content.Length != attachment.Size)
                {
                    throw new ArgumentException($"Attachment.Content holds {content.Length} bytes but Attachment.Size says {attachment.Size}.", paramName);
                }
                if (!System.Security.Cryptography.SHA256.HashData(content).AsSpan().SequenceEqual(attachment.Sha256))
                {
                    throw new ArgumentException("Attachment.Sha256 is not the SHA-256 of Attachment.Content.", paramName);
                }
                continue;
            }
            Require(attachment.Cid, "Attachment.Cid (or Attachment.Content, for an inline file)", paramName);
            if (attachment.ContentKey is null || attachment.ContentKey.Length == 0)
            {
                throw new ArgumentException("Attachment.ContentKey must not be empty.", paramName);
            }
        }
    }

    /// <summary>
    /// Inserts the new messages of a batch and updates each touched conversation once (aggregated in memory),
    /// not once per row. Runs inside the writer's transaction.
    /// </summary>
    private int SaveCore(StoreConnection w, IReadOnlyList<Message> batch)
    {
        var now = NowMs;
        Dictionary<string, bool>? blockedSenders = null;
        var conversations = new Dictionary<string, ConversationDelta>(StringComparer.Ordinal);
        var saved = 0;
        // The insert trigger stands aside (messages_fts_batch, messages_fts_pending; see Migrations): a batch indexes its rows itself, all at once,
        // which is several times cheaper than the per-row trigger; a single save only records its key (in
        // InsertMessage), to be indexed later together with others.
        var single = batch.Count == 1;
        var indexRows = single ? null : new (long Key, string Body)[batch.Count];
        if (!single)
        {
            w.Raw("INSERT INTO messages_fts_batch (active) VALUES (1)").Execute();
        }
        foreach (var message in batch)
        {
            var incoming = message.Direction == MessageDirection.Incoming;
            var blocked = incoming && IsSenderBlocked(w, message.SenderId, ref blockedSenders);
            var key = InsertMessage(w, message, blocked, recordPending: single);
            if (key < 0)
            {
                continue;
            }
            if (indexRows is not null)
            {
                indexRows[saved] = (key, message.Body);
            }
            saved++;
            for (var i = 0; i < message.Attachments.Count; i++)
            {
                InsertAttachment(w, key, i, message.ConversationId, message.Attachments[i]);
            }
            ref var delta = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(conversations, message.ConversationId, out var exists);
            if (!exists || key > delta.Key)
            {
                delta.Key = key;
                delta.Message = message;
            }
            if (incoming && !blocked && message.Status < MessageStatus.Read)
            {
                delta.Unread++;
            }
        }
        if (indexRows is not null)
        {
            var index = w.Raw("INSERT INTO messages_fts (rowid, body) VALUES (?1, ?2)");
            for (var i = 0; i < saved; i++)
            {
                index.Bind(1, indexRows[i].Key);
                index.Bind(2, indexRows[i].Body);
                index.Execute();
            }
            // Removed before the commit, so no other connection ever sees the trigger switched off.
            w.Raw("DELETE FROM messages_fts_batch").Execute();
        }
        if (saved == 0)
        {
            return 0;
        }
        if (single)
        {
            if (_pendingIndex >= 0)
            {
                _pendingIndex++;
            }
            if (_pendingIndex < 0 || _pendingIndex >= PendingIndexLimit)
            {
                IndexPending(w);
            }
        }
        else if (_pendingIndex != 0)
        {
            // The batch has opened the index for writing anyway; the deferred rows join its segment.
            IndexPending(w);
        }
        var upsert = w.Raw(UpsertConversationSql);
        foreach (var (conversationId, delta) in conversations)
        {
            upsert.Bind(1, conversationId);
            upsert.Bind(2, now);
            upsert.Bind(3, delta.Key);
            upsert.Bind(4, delta.Message!.MessageId);
            upsert.Bind(5, Preview(delta.Message.Body));
            upsert.Bind(6, delta.Message.SenderId);
            upsert.Bind(7, delta.Unread);
            upsert.Execute();
        }
        StorageMetrics.MessagesSaved.Add(saved);
        return saved;
    }

    /// <summary>
    /// Indexes the messages single saves left in <c>messages_fts_pending</c> (one FTS5 segment for all of them).
    /// Runs inside the writer's transaction; if that transaction rolls back, the count becomes unknown again.
    /// </summary>
    private void IndexPending(StoreConnection w)
    {
        w.Raw("INSERT INTO messages_fts (rowid, body) SELECT m.id, m.body FROM messages_fts_pending p JOIN messages m ON m.id = p.id").Execute();
        w.Raw("DELETE FROM messages_fts_pending").Execute();
        _pendingIndex = 0;
    }

    /// <summary>Makes every saved message searchable before a search runs (a no-op when nothing is pending).</summary>
    private Task IndexPendingAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _pendingIndex) == 0
            ? Task.CompletedTask
            : WriteAsync(w =>
            {
                if (_pendingIndex != 0)
                {
                    IndexPending(w);
                }
                return true;
            }, cancellationToken);

    private struct ConversationDelta
    {
        public long Key;
        public Message? Message;
        public int Unread;
    }

    internal static string Preview(string body)
    {
        if (body.Length <= PreviewLength)
        {
            return body;
        }
        var length = char.IsHighSurrogate(body[PreviewLength - 1]) ? PreviewLength - 1 : PreviewLength;
        return body[..length];
    }

    private static bool IsSenderBlocked(StoreConnection w, string senderId, ref Dictionary<string, bool>? cache)
    {
        cache ??= new Dictionary<string, bool>(StringComparer.Ordinal);
        if (!cache.TryGetValue(senderId, out var blocked))
        {
            var lookup = w.Raw("SELECT is_blocked FROM contacts WHERE contact_id = ?1");
            lookup.Bind(1, senderId);
            blocked = lookup.QueryInt64() is { } value && value != 0;
            cache[senderId] = blocked;
        }
        return blocked;
    }

    /// <summary>
    /// Inserts one message; returns its key, or -1 when the message id is already stored. With
    /// <paramref name="recordPending"/> the key goes into messages_fts_pending first, which keeps the insert
    /// trigger from indexing the row now.
    /// </summary>
    private long InsertMessage(StoreConnection w, Message message, bool fromBlocked, bool recordPending)
    {
        var sentMs = message.SentAt.ToUnixTimeMilliseconds();
        var insert = w.Raw(InsertMessageSql);
        insert.Bind(2, message.MessageId);
        insert.Bind(3, message.ConversationId);
        insert.Bind(4, message.SenderId);
        insert.Bind(5, sentMs);
        insert.Bind(6, message.ReceivedAt?.ToUnixTimeMilliseconds());
        insert.Bind(7, message.Body);
        insert.Bind(8, message.ContentType);
        insert.Bind(9, (int)message.Status);
        insert.Bind(10, (int)message.Direction);
        insert.Bind(11, message.ReplyToMessageId);
        insert.Bind(12, fromBlocked ? 1 : 0);
        insert.Bind(13, message.Attachments.Count);
        insert.Bind(14, Recipients.Encode(message.RecipientIds));
        for (var attempt = 0; attempt <= MessageKey.SequenceMask; attempt++)
        {
            var key = MessageKey.Make(sentMs, _sequence++);
            insert.Bind(1, key);
            var recorded = false;
            if (recordPending)
            {
                var pending = w.Raw("INSERT OR IGNORE INTO messages_fts_pending (id) VALUES (?1)");
                pending.Bind(1, key);
                recorded = pending.Execute() == 1;
            }
            if (insert.Execute() == 1)
            {
                return key;
            }
            if (recorded)
            {
                var unrecord = w.Raw("DELETE FROM messages_fts_pending WHERE id = ?1");
                unrecord.Bind(1, key);
                unrecord.Execute();
            }
            // Nothing inserted: either a duplicate message id (the common case: a re-delivered message), or another
            // message sent in the same millisecond already holds this key; then try the next sequence number.
            var exists = w.Command("SELECT 1 FROM messages WHERE message_id = @message_id")
                .Bind("@message_id", message.MessageId).ExecuteScalar();
            if (exists is not null)
            {
                return -1;
            }
        }
        throw new MessageStoreException($"Could not store message '{message.MessageId}': over a million messages share its send time of {message.SentAt:O}.");
    }

    private static void InsertAttachment(StoreConnection w, long key, int ordinal, string conversationId, Attachment attachment)
    {
        w.Command(
            """
            INSERT INTO attachments (message_key, ordinal, conversation_id, cid, content_key, file_name, mime_type, size, sha256, content)
            VALUES (@message_key, @ordinal, @conversation_id, @cid, @content_key, @file_name, @mime_type, @size, @sha256, @content)
            """)
            .Bind("@message_key", key)
            .Bind("@ordinal", ordinal)
            .Bind("@conversation_id", conversationId)
            .Bind("@cid", attachment.Cid)
            .Bind("@content_key", attachment.ContentKey)
            .Bind("@file_name", attachment.FileName)
            .Bind("@mime_type", attachment.MimeType)
            .Bind("@size", attachment.Size)
            .Bind("@sha256", attachment.Sha256)
            .Bind("@content", attachment.Content)
            .ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public Task<Message?> GetMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        return ReadAsync(r =>
        {
            var query = r.Raw($"SELECT {MessageColumns} FROM messages m WHERE m.message_id = ?1");
            query.Bind(1, messageId);
            var list = ReadMessages(r, query, 1);
            return list.Count == 0 ? null : list[0].Message;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<Page<Message>> GetMessagesAsync(string conversationId, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        CheckLimit(limit, nameof(limit));
        var before = Cursor.ParseKey(cursor, nameof(cursor));
        return ReadAsync(r =>
        {
            var query = r.Raw(
                $"SELECT {MessageColumns} FROM messages m WHERE m.conversation_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3");
            query.Bind(1, conversationId);
            query.Bind(2, before);
            query.Bind(3, limit + 1);
            return ToPage(ReadMessages(r, query, limit + 1), limit);
        }, cancellationToken);
    }

    internal static Page<Message> ToPage(List<(long Key, Message Message)> rows, int limit)
    {
        var more = rows.Count > limit;
        var items = new Message[Math.Min(rows.Count, limit)];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = rows[i].Message;
        }
        return new Page<Message> { Items = items, NextCursor = more ? Cursor.FromKey(rows[limit - 1].Key) : null };
    }

    /// <summary>
    /// Runs a bound query selecting <see cref="MessageColumns"/> and loads the attachments of the rows that have
    /// any. The statement is reset afterwards, also on error.
    /// </summary>
    internal static List<(long Key, Message Message)> ReadMessages(StoreConnection r, RawStatement query, int capacityHint)
    {
        var rows = new List<(long Key, Message Message)>(Math.Min(capacityHint, 64));
        List<int>? withAttachments = null;
        try
        {
            while (query.Step())
            {
                var key = query.GetInt64(0);
                var editedAt = query.GetNullableInt64(11);
                var deletedAt = query.GetNullableInt64(12);
                var message = new Message
                {
                    MessageId = query.GetString(1),
                    ConversationId = query.GetString(2),
                    SenderId = query.GetString(3),
                    SentAt = FromUnixMs(query.GetInt64(4)),
                    ReceivedAt = query.GetNullableInt64(5) is { } received ? FromUnixMs(received) : null,
                    Body = query.GetString(6),
                    ContentType = query.GetString(7),
                    Status = (MessageStatus)query.GetInt64(8),
                    Direction = (MessageDirection)query.GetInt64(9),
                    ReplyToMessageId = query.GetNullableString(10),
                    EditedAt = editedAt is { } e ? FromUnixMs(e) : null,
                    DeletedAt = deletedAt is { } d ? FromUnixMs(d) : null,
                    IsFromBlockedContact = query.GetInt64(13) != 0,
                    RecipientIds = Recipients.Decode(query.GetNullableString(15)),
                };
                if (query.GetInt64(14) > 0)
                {
                    (withAttachments ??= []).Add(rows.Count);
                }
                rows.Add((key, message));
            }
        }
        finally
        {
            query.Reset();
        }
        if (withAttachments is not null)
        {
            var attachments = r.Raw(
                $"SELECT {AttachmentColumns} FROM attachments WHERE message_key = ?1 ORDER BY ordinal");
            foreach (var index in withAttachments)
            {
                var (key, message) = rows[index];
                attachments.Bind(1, key);
                var list = new List<Attachment>();
                try
                {
                    while (attachments.Step())
                    {
                        list.Add(new Attachment
                        {
                            Cid = attachments.GetNullableString(0),
                            ContentKey = attachments.IsNull(1) ? null : attachments.GetBytes(1),
                            FileName = attachments.GetString(2),
                            MimeType = attachments.GetString(3),
                            Size = attachments.GetInt64(4),
                            Sha256 = attachments.GetBytes(5),
                            Content = attachments.IsNull(6) ? null : attachments.GetBytes(6),
                        });
                    }
                }
                finally
                {
                    attachments.Reset();
                }
                rows[index] = (key, message with { Attachments = list });
            }
        }
        return rows;
    }

    /// <summary>The attachment columns in the order <see cref="ReadAttachment"/> and <see cref="ReadMessages"/> read them.</summary>
    internal const string AttachmentColumns = "cid, content_key, file_name, mime_type, size, sha256, content";

    internal static Attachment ReadAttachment(SqliteDataReader reader, int first) => new()
    {
        Cid = reader.GetNullableString(first),
        ContentKey = reader.GetNullableBytes(first + 1),
        FileName = reader.GetString(first + 2),
        MimeType = reader.GetString(first + 3),
        Size = reader.GetInt64(first + 4),
        Sha256 = (byte[])reader.GetValue(first + 5),
        Content = reader.GetNullableBytes(first + 6),
    };

    /// <inheritdoc/>
    public Task<bool> UpdateMessageStatusAsync(string messageId, MessageStatus status, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        if (!Enum.IsDefined(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Not a defined MessageStatus.");
        }
        return WriteAsync(w =>
        {
            // The rank comparison in SQL is what keeps a late or duplicated receipt from moving a status backwards.
            var command = w.Command(
                "UPDATE messages SET status = @status WHERE message_id = @message_id AND status < @status RETURNING conversation_id, direction")
                .Bind("@status", (int)status)
                .Bind("@message_id", messageId);
            string? conversationId = null;
            var incoming = false;
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read())
                {
                    conversationId = reader.GetString(0);
                    incoming = reader.GetInt32(1) == (int)MessageDirection.Incoming;
                }
            }
            if (conversationId is null)
            {
                return false;
            }
            if (incoming && status == MessageStatus.Read)
            {
                RefreshUnread(w, conversationId);
            }
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> EditMessageAsync(string messageId, string newBody, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        ArgumentNullException.ThrowIfNull(newBody);
        return WriteAsync(w =>
        {
            // The update trigger removes the old text from the index, so the row must be in it.
            if (_pendingIndex != 0)
            {
                IndexPending(w);
            }
            var command = w.Command(
                "UPDATE messages SET body = @body, edited_at = @now WHERE message_id = @message_id AND deleted_at IS NULL RETURNING id, conversation_id")
                .Bind("@body", newBody)
                .Bind("@now", NowMs)
                .Bind("@message_id", messageId);
            long key;
            string conversationId;
            using (var reader = command.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return false;
                }
                key = reader.GetInt64(0);
                conversationId = reader.GetString(1);
            }
            w.Command("UPDATE conversations SET last_preview = @preview WHERE conversation_id = @conversation_id AND last_message_key = @key")
                .Bind("@preview", Preview(newBody))
                .Bind("@conversation_id", conversationId)
                .Bind("@key", key)
                .ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> DeleteMessageAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        return WriteAsync(w =>
        {
            // The update trigger removes the old text from the index, so the row must be in it.
            if (_pendingIndex != 0)
            {
                IndexPending(w);
            }
            var command = w.Command(
                """
                UPDATE messages SET body = '', deleted_at = @now, attachment_count = 0
                WHERE message_id = @message_id AND deleted_at IS NULL RETURNING id, conversation_id
                """)
                .Bind("@now", NowMs)
                .Bind("@message_id", messageId);
            long key;
            string conversationId;
            using (var reader = command.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return false;
                }
                key = reader.GetInt64(0);
                conversationId = reader.GetString(1);
            }
            w.Command("DELETE FROM attachments WHERE message_key = @key").Bind("@key", key).ExecuteNonQuery();
            RefreshConversation(w, conversationId);
            return true;
        }, cancellationToken);
    }

    /// <summary>Recomputes a conversation's last (non-deleted) message and unread count from the messages.</summary>
    private static void RefreshConversation(StoreConnection w, string conversationId)
    {
        w.Command(
            $"""
            UPDATE conversations SET
                (last_message_key, last_message_id, last_preview, last_sender_id) =
                    (SELECT id, message_id, substr(body, 1, {PreviewLength}), sender_id FROM messages
                     WHERE conversation_id = @conversation_id AND deleted_at IS NULL ORDER BY id DESC LIMIT 1),
                unread_count = ({UnreadCountSql})
            WHERE conversation_id = @conversation_id
            """)
            .Bind("@conversation_id", conversationId)
            .ExecuteNonQuery();
    }

    private static void RefreshUnread(StoreConnection w, string conversationId)
    {
        w.Command($"UPDATE conversations SET unread_count = ({UnreadCountSql}) WHERE conversation_id = @conversation_id")
            .Bind("@conversation_id", conversationId)
            .ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public Task<int> CountUnreadAsync(string? conversationId = null, CancellationToken cancellationToken = default)
    {
        if (conversationId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        }
        return ReadAsync(r =>
        {
            var result = conversationId is null
                ? r.Command("SELECT coalesce(sum(unread_count), 0) FROM conversations").ExecuteScalar()
                : r.Command("SELECT unread_count FROM conversations WHERE conversation_id = @conversation_id")
                    .Bind("@conversation_id", conversationId).ExecuteScalar();
            return result is long count ? (int)count : 0;
        }, cancellationToken);
    }
}
