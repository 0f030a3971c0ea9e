namespace ZenTalk.Storage;

/// <summary>
/// A backup stream is truncated, corrupted, or not a ZenTalk message store backup. Restore refused it and left
/// any existing database untouched.
/// </summary>
public class BackupFormatException : MessageStoreException
{
    /// <inheritdoc cref="MessageStoreException(string)"/>
    public BackupFormatException(string message) : base(message) { }

    /// <inheritdoc cref="MessageStoreException(string, Exception?)"/>
    public BackupFormatException(string message, Exception? innerException) : base(message, innerException) { }
}
