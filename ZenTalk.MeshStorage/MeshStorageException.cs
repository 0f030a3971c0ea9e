namespace ZenTalk.MeshStorage;

/// <summary>The base of every error the mesh storage reports; catch it to handle any mesh failure.</summary>
/// <remarks>
/// Branch on the properties, not on the message text: <see cref="IsTransient"/> says whether the same call may succeed
/// later, <see cref="Cid"/> names the file when the failure concerns one, and the subclasses add their own data
/// (<see cref="ShardsUnavailableException.ShardsFound"/>, <see cref="MeshFileNotFoundException.IsDeleted"/>, ...).
/// </remarks>
public class MeshStorageException : Exception
{
    /// <summary>Creates the exception with a message that says what failed and what to do.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    public MeshStorageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What failed and what the caller can do about it.</param>
    /// <param name="innerException">The underlying error.</param>
    public MeshStorageException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>
    /// Whether the same operation may succeed if retried later, unchanged: too few holders answered now, or a peer was
    /// busy. False for failures a retry cannot fix (a wrong key, a deleted file, a refused signature, a full quota).
    /// </summary>
    public bool IsTransient { get; init; }

    /// <summary>The file the failure concerns, when it concerns one and its CID is known.</summary>
    public Cid? Cid { get; init; }
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

/// <summary>
/// Too few shards could be reached: to rebuild a segment (fewer valid shards than the data shard count), to place one
/// (fewer storing nodes accepted than needed), or to find the file's manifest (no node answered). Transient by default:
/// holders come back and nodes join, so a retry later may succeed.
/// </summary>
public class ShardsUnavailableException : MeshStorageException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public ShardsUnavailableException(string message) : base(message) => IsTransient = true;

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public ShardsUnavailableException(string message, Exception? innerException) : base(message, innerException) => IsTransient = true;

    /// <summary>The segment (from 0) that could not be read or placed; null when the failure is not about one segment.</summary>
    public int? SegmentIndex { get; init; }

    /// <summary>How many valid shards were found (read) or placed (store); null when not counted.</summary>
    public int? ShardsFound { get; init; }

    /// <summary>How many were needed: the data shard count to read, the placement floor to store; null when not counted.</summary>
    public int? ShardsNeeded { get; init; }
}

/// <summary>
/// The file is not in the mesh: no node closest to its CID has its manifest (an unknown CID, or an expired file), or
/// its owner deleted it. Unlike its base class, which also means "it exists, but too few holders answer now", retrying
/// will not help.
/// </summary>
public class MeshFileNotFoundException : ShardsUnavailableException
{
    /// <inheritdoc cref="MeshStorageException(string)"/>
    public MeshFileNotFoundException(string message) : base(message) => IsTransient = false;

    /// <inheritdoc cref="MeshStorageException(string, Exception?)"/>
    public MeshFileNotFoundException(string message, Exception? innerException) : base(message, innerException) => IsTransient = false;

    /// <summary>True when the owner deleted the file (a signed tombstone was found); false when it is unknown or expired.</summary>
    public bool IsDeleted { get; init; }
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
