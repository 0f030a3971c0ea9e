namespace ZenTalk.Storage;

/// <summary>
/// The database file is not a SQLite database, is not a ZenTalk message store, or failed an integrity check.
/// Nothing was changed; restore from a backup or move the file aside.
/// </summary>
public class StoreCorruptedException : MessageStoreException
{
    /// <inheritdoc cref="MessageStoreException(string)"/>
    public StoreCorruptedException(string message) : base(message) { }

    /// <inheritdoc cref="MessageStoreException(string, Exception?)"/>
    public StoreCorruptedException(string message, Exception? innerException) : base(message, innerException) { }
}
