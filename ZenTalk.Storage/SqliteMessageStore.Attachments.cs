using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    /// <inheritdoc/>
    public Task<IReadOnlyList<ConversationAttachment>> GetConversationAttachmentsAsync(string conversationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        return ReadAsync<IReadOnlyList<ConversationAttachment>>(r =>
        {
            var command = r.Command(
                """
                SELECT m.message_id, m.sender_id, m.sent_at, a.cid, a.content_key, a.file_name, a.mime_type, a.size, a.sha256, a.content
                FROM attachments a JOIN messages m ON m.id = a.message_key
                WHERE a.conversation_id = @conversation_id
                ORDER BY a.message_key DESC, a.ordinal
                """)
                .Bind("@conversation_id", conversationId);
            var list = new List<ConversationAttachment>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                list.Add(new ConversationAttachment
                {
                    MessageId = reader.GetString(0),
                    SenderId = reader.GetString(1),
                    SentAt = FromUnixMs(reader.GetInt64(2)),
                    Attachment = ReadAttachment(reader, 3),
                });
            }
            return list;
        }, cancellationToken);
    }
}
