namespace ZenTalk.Storage;

/// <summary>
/// The database was written by a newer version of ZenTalk.Storage (its schema version is higher than this
/// library knows). It is left untouched; upgrade the library to open it.
/// </summary>
public class SchemaVersionException : MessageStoreException
{
    /// <summary>Creates the exception for a database at <paramref name="foundVersion"/>.</summary>
    /// <param name="foundVersion">The schema version found in the file.</param>
    /// <param name="supportedVersion">The newest schema version this library can open.</param>
    public SchemaVersionException(int foundVersion, int supportedVersion)
        : base($"The message store has schema version {foundVersion}, but this version of ZenTalk.Storage supports up to {supportedVersion}. Upgrade ZenTalk.Storage to open it; the file was not changed.")
    {
        FoundVersion = foundVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>The schema version found in the file.</summary>
    public int FoundVersion { get; }

    /// <summary>The newest schema version this library can open.</summary>
    public int SupportedVersion { get; }
}
