namespace ZenTalk.Storage.Database;

/// <summary>
/// Files only the user can read. The database, its WAL and shared-memory files and every backup snapshot hold each
/// message and each attachment key in the clear, so on Unix they are created with mode 0600 (SQLite gives a
/// database's -wal, -shm and -journal the database file's own mode), and snapshots that cannot live next to the
/// database go into a private temporary directory (0700). On Windows files inherit the ACL of their directory, which
/// for an application's data directory is the user's.
/// </summary>
internal static class PrivateFiles
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Options for a new file (never an existing one) only the user can read and write.</summary>
    public static FileStreamOptions CreateNew(FileAccess access = FileAccess.Write, FileOptions options = FileOptions.None, int bufferSize = 4096)
    {
        var result = new FileStreamOptions { Mode = FileMode.CreateNew, Access = access, Share = FileShare.None, Options = options, BufferSize = bufferSize };
        if (!OperatingSystem.IsWindows()) result.UnixCreateMode = OwnerOnly;
        return result;
    }

    /// <summary>
    /// Creates <paramref name="path"/> empty for the user alone, unless it exists (then nothing changes). A failure is
    /// left for SQLite to meet and report when it opens the path.
    /// </summary>
    public static void CreateEmptyIfMissing(string path)
    {
        try
        {
            new FileStream(path, CreateNew()).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // It exists already (SQLite opens it as it is), or the directory refuses it (SQLite says so).
        }
    }

    /// <summary>A new directory under the system's temporary folder that only the user can enter (0700 on Unix).</summary>
    public static DirectoryInfo CreateTemporaryDirectory(string prefix) => Directory.CreateTempSubdirectory(prefix);

    /// <summary>Deletes a file if it is there; a failure leaves it (it is uniquely named and private).</summary>
    public static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Deletes a directory and what is in it if it is there; a failure leaves it.</summary>
    public static void DeleteQuietly(DirectoryInfo directory)
    {
        try
        {
            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
