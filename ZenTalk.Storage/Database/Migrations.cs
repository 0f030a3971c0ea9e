using System.Globalization;

namespace ZenTalk.Storage.Database;

/// <summary>
/// The schema history. Step N takes a database from <c>user_version</c> N-1 to N; version 0 is an empty file.
/// Steps are append-only once released: a change is a new step, so every older file upgrades along the same path.
/// </summary>
internal static class Migrations
{
    /// <summary>Marks files as ZenTalk message stores ('ZTLK'), so a foreign SQLite file is refused, not altered.</summary>
    public const int ApplicationId = 0x5A544C4B;

    public static readonly IReadOnlyList<string> Steps =
    [
        // 1: the whole schema.
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
            attachment_count INTEGER NOT NULL DEFAULT 0,
            recipients TEXT                     -- JSON array of ids, NULL for none
        );
        CREATE INDEX ix_messages_conversation ON messages (conversation_id, id);
        CREATE INDEX ix_messages_unread ON messages (conversation_id, id)
            WHERE direction = 1 AND status < 4 AND deleted_at IS NULL AND from_blocked = 0;

        -- A mesh reference has a CID and key, an inline attachment its bytes (content), never both.
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            message_key INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            conversation_id TEXT NOT NULL,
            cid TEXT,
            content_key BLOB,
            file_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 BLOB NOT NULL,
            content BLOB,
            CHECK ((cid IS NULL) = (content_key IS NULL) AND (cid IS NULL) <> (content IS NULL))
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

        -- Full-text search: external content (the text lives once, in messages), kept in sync by triggers. The
        -- insert trigger stands aside for the store's own saves, which feed the index themselves (docs/storage.md):
        -- FTS5 fed row by row from a trigger writes a new segment per row. While messages_fts_batch holds a row (only
        -- inside the store's batch transaction, removed before it commits) a batch inserts its bodies directly; a
        -- single save records its key in messages_fts_pending in the same transaction, and the store indexes the
        -- recorded messages together later. Every other writer is indexed by the trigger.
        CREATE VIRTUAL TABLE messages_fts USING fts5 (
            body, content = 'messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TABLE messages_fts_batch (active INTEGER NOT NULL);
        CREATE TABLE messages_fts_pending (id INTEGER PRIMARY KEY);
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN NOT EXISTS (SELECT 1 FROM messages_fts_batch)
            AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = new.id) BEGIN
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
        END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
            INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;

        -- Relay queue. A lease moves next_attempt_at to the lease end, so "due" is one index range.
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

        -- Settings and cache entries: expires_at NULL for a setting, Unix ms for a cache entry.
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value BLOB NOT NULL,
            expires_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX ix_settings_expires ON settings (expires_at) WHERE expires_at IS NOT NULL;
        """,
    ];

    public static int LatestVersion => Steps.Count;

    /// <summary>Brings the database to the latest version; see <see cref="Apply(StoreConnection, IReadOnlyList{string}, int)"/>.</summary>
    public static int Apply(StoreConnection connection) => Apply(connection, Steps, Steps.Count);

    /// <summary>
    /// Brings the database to <paramref name="targetVersion"/> of <paramref name="steps"/> in one transaction and
    /// returns the version it had. A failure leaves the file at its old version. A file newer than
    /// <paramref name="steps"/> knows, or one that is not a message store, is refused unchanged. The caller holds the
    /// writer. Tests pass their own steps to exercise upgrades the released history does not have yet.
    /// </summary>
    public static int Apply(StoreConnection connection, IReadOnlyList<string> steps, int targetVersion)
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
            if (version > steps.Count)
            {
                throw new SchemaVersionException(version, steps.Count);
            }
            for (var step = version; step < targetVersion; step++)
            {
                connection.Execute(steps[step]);
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
