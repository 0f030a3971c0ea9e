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

        // 4: lets a batch feed the full-text index itself. Inserting into FTS5 from a per-row trigger makes FTS5
        // write its pending terms out as a new segment at every row (measured: 1,000 trigger inserts wrote 3,079
        // %_data rows, 1,000 direct inserts 5; the trigger body runs in a nested statement savepoint, and FTS5
        // flushes at savepoints), so a batch of N rows produced N tiny segments and a stream of merges. While a row exists in messages_fts_batch (only ever inside the store's own
        // batch transaction, removed before it commits) the insert trigger stands aside and the store inserts the
        // batch's rows into messages_fts directly, which FTS5 buffers and writes once. Every other writer (single
        // saves, other tools) sees the table empty and is indexed by the trigger as before.
        """
        CREATE TABLE messages_fts_batch (active INTEGER NOT NULL);
        DROP TRIGGER messages_fts_insert;
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN NOT EXISTS (SELECT 1 FROM messages_fts_batch) BEGIN
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;
        """,

        // 5: single saves defer their full-text indexing. FTS5 writes a new index segment (and rewrites its
        // structure record) in every transaction that touches it: about 35 µs of a 60-90 µs single save. A single
        // save therefore records its key here just before inserting the message (same transaction, so the deferral
        // is as durable as the message; the trigger skips rows recorded here) and the store indexes the recorded
        // messages together: before any search, edit or delete, with the next batch, every 64 saves, and when the
        // store closes. Other tools record nothing and are indexed by the trigger as before.
        """
        CREATE TABLE messages_fts_pending (id INTEGER PRIMARY KEY);
        DROP TRIGGER messages_fts_insert;
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN NOT EXISTS (SELECT 1 FROM messages_fts_batch)
            AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = new.id) BEGIN
            INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
        END;
        """,

        // 6: explicit recipients (a JSON array of ids, NULL for none), attachments kept inline (small files stay in
        // the store: a reference has a CID and key, an inline attachment its bytes, never both), and the settings
        // store (values as bytes; expires_at NULL for a setting, Unix ms for a cache entry).
        """
        ALTER TABLE messages ADD COLUMN recipients TEXT;

        CREATE TABLE attachments_new (
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
        INSERT INTO attachments_new (id, message_key, ordinal, conversation_id, cid, content_key, file_name, mime_type, size, sha256)
            SELECT id, message_key, ordinal, conversation_id, cid, content_key, file_name, mime_type, size, sha256 FROM attachments;
        DROP TABLE attachments;
        ALTER TABLE attachments_new RENAME TO attachments;
        CREATE INDEX ix_attachments_message ON attachments (message_key, ordinal);
        CREATE INDEX ix_attachments_conversation ON attachments (conversation_id, message_key);

        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value BLOB NOT NULL,
            expires_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX ix_settings_expires ON settings (expires_at) WHERE expires_at IS NOT NULL;
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
