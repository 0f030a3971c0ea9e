namespace ZenTalk.MeshStorage;

/// <summary>The base of every error the mesh storage reports; catch it to handle any mesh failure.</summary>
public class MeshStorageException : Exception
{
    /// <summary>Creates the exception with a message that says what failed and what to do.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    public MeshStorageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    /// <param name="innerException">The underlying error.</param>
    public MeshStorageException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// Data failed an integrity check: a wrong content key, a tampered or truncated segment, a shard or
/// manifest whose hash does not match, or a bad signature. No unauthenticated bytes are released.
/// </summary>
public class IntegrityException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public IntegrityException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public IntegrityException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Too few valid shards could be found to rebuild a segment (fewer than the data shard count).</summary>
public class ShardsUnavailableException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public ShardsUnavailableException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public ShardsUnavailableException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The file is not in the mesh: no node closest to its CID has its manifest (an unknown CID, or an expired file), or
/// its owner deleted it. Unlike its base class, which also means "it exists, but too few holders answer now", retrying
/// will not help.
/// </summary>
public class MeshFileNotFoundException : ShardsUnavailableException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public MeshFileNotFoundException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public MeshFileNotFoundException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>The operation needs the owner's signature and the one given is missing, forged, stale or replayed.</summary>
public class UnauthorizedOperationException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public UnauthorizedOperationException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public UnauthorizedOperationException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>Storing the data would exceed a node's configured byte quota.</summary>
public class QuotaExceededException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public QuotaExceededException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public QuotaExceededException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A peer broke the wire protocol: malformed or oversized frame, wrong message, unsupported version.</summary>
public class ProtocolException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public ProtocolException(string message) : base(message) { }

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public ProtocolException(string message, Exception? innerException) : base(message, innerException) { }
}
