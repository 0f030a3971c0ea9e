namespace ZenTalk.Storage;

/// <summary>The base of every error the message store reports; catch it to handle any store failure.</summary>
public class MessageStoreException : Exception
{
    /// <summary>Creates the exception with a message that says what failed and what to do.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    public MessageStoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    /// <param name="innerException">The underlying error (usually a <c>SqliteException</c>).</param>
    public MessageStoreException(string message, Exception? innerException) : base(message, innerException) { }
}
