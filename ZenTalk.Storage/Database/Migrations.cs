using System.Globalization;

namespace ZenTalk.Storage.Database;

/// <summary>
/// The schema history. Step N takes a database from <c>user_version</c> N-1 to N. Steps are append-only: a
/// shipped step is never edited, a change is a new step, so every older file upgrades along the same path.
/// </summary>
internal static class Migrations
{
    /// <summary>Marks files as ZenTalk message stores ('ZTLK'), so a foreign SQLite file is refused, not altered.</summary>
    public const int ApplicationId = 0x5A544C4B;

    public static readonly IReadOnlyList<string> Steps =
    [
        // 1: messages, attachments, contacts, conversations.
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,             -- time-ordered key, see MessageKey
            message_id TEXT NOT NULL UNIQUE,    -- the sender's id: dedupe
            conversation_id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            sent_at INTEGER NOT NULL,           -- Unix ms
            received_at INTEGER,
            body TEXT NOT NULL,
            content_type TEXT NOT NULL,
            status INTEGER NOT NULL,            -- MessageStatus rank
            direction INTEGER NOT NULL,
            reply_to TEXT,
            edited_at INTEGER,
            deleted_at INTEGER,
            from_blocked INTEGER NOT NULL DEFAULT 0,
            attachment_count INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_messages_conversation ON messages (conversation_id, id);
        CREATE INDEX ix_messages_unread ON messages (conversation_id, id)
            WHERE direction = 1 AND status < 4 AND deleted_at IS NULL AND from_blocked = 0;

        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            message_key INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            conversation_id TEXT NOT NULL,
            cid TEXT NOT NULL,
            content_key BLOB NOT NULL,
            file_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 BLOB NOT NULL
        );
        CREATE INDEX ix_attachments_message ON attachments (message_key, ordinal);
        CREATE INDEX ix_attachments_conversation ON attachments (conversation_id, message_key);

        CREATE TABLE contacts (
            contact_id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            public_key BLOB,
            added_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            is_blocked INTEGER NOT NULL DEFAULT 0,
            is_favorite INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX ix_contacts_name ON contacts (display_name COLLATE NOCASE);

        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            activity_key INTEGER NOT NULL,      -- newest message key ever saved: list order
            last_message_key INTEGER,           -- newest message that is not deleted
            last_message_id TEXT,
            last_preview TEXT,
            last_sender_id TEXT,
            unread_count INTEGER NOT NULL DEFAULT 0,
            is_pinned INTEGER NOT NULL DEFAULT 0,
            is_muted INTEGER NOT NULL DEFAULT 0,
            is_archived INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX ix_conversations_list ON conversations (is_archived, is_pinned, activity_key, id);
        """,

        // 2: full-text search. External content (the text lives once, in messages), kept in sync by triggers;
        // 'rebuild' indexes the messages an older file already has.
        """
        CREATE VIRTUAL TABLE messages_fts USING fts5 (
            body, content = 'messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;
        INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
        """,

        // 3: relay queue. A lease moves next_attempt_at to the lease end, so "due" is one index range.
        """
        CREATE TABLE relay_queue (
            id INTEGER PRIMARY KEY,
            envelope_id TEXT NOT NULL UNIQUE,
            recipient_id TEXT NOT NULL,
            envelope BLOB NOT NULL,
            size INTEGER NOT NULL,
            enqueued_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            expires_at INTEGER NOT NULL,
            state INTEGER NOT NULL DEFAULT 0    -- 0 pending, 1 dead letter
        );
        CREATE INDEX ix_relay_due ON relay_queue (state, next_attempt_at, id);
        CREATE INDEX ix_relay_recipient ON relay_queue (recipient_id, state, size);
        CREATE INDEX ix_relay_expires ON relay_queue (expires_at);
        """,
    ];

    public static int LatestVersion => Steps.Count;

    /// <summary>
    /// Brings the database to <paramref name="targetVersion"/> in one transaction. A failure leaves the file at
    /// its old version. The caller holds the writer.
    /// </summary>
    public static int Apply(StoreConnection connection, int targetVersion)
    {
        connection.Begin(deferred: false);
        try
        {
            var version = Convert.ToInt32(connection.Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);
            var applicationId = Convert.ToInt32(connection.Scalar("PRAGMA application_id"), CultureInfo.InvariantCulture);
            var objects = Convert.ToInt64(connection.Scalar("SELECT count(*) FROM sqlite_master"), CultureInfo.InvariantCulture);
            if (applicationId != ApplicationId && (version != 0 || objects != 0))
            {
                throw new StoreCorruptedException(
                    "The file is a SQLite database but not a ZenTalk message store (wrong application id). It was not changed; open a different path.");
            }
            if (version > LatestVersion)
            {
                throw new SchemaVersionException(version, LatestVersion);
            }
            for (var step = version; step < targetVersion; step++)
            {
                connection.Execute(Steps[step]);
            }
            if (version < targetVersion)
            {
                connection.Execute($"PRAGMA application_id = {ApplicationId}");
                connection.Execute($"PRAGMA user_version = {targetVersion}");
            }
            connection.Commit();
            return version;
        }
        catch
        {
            connection.Rollback();
            throw;
        }
    }
}
