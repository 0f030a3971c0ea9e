using System.Runtime.InteropServices;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// Makes a rename durable: fsync on the directory that holds the entry. .NET has no API for it, so on Linux and
/// macOS we open the directory read-only and call fsync(2) ourselves. On Windows there is no equivalent (NTFS
/// journals the rename as metadata), so it is a no-op there — a documented limit.
/// </summary>
internal static partial class DirectorySync
{
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return;
        }

        // O_RDONLY (0) is enough to get a descriptor for a directory on every Unix we run on.
        var fd = Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"Could not open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
