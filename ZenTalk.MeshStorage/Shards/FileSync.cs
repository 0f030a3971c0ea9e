using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// The two flushes durable writes need that .NET does not offer as such: a directory's entries (after a create or a
/// rename), and a file's data without its times. On Linux and macOS the directory is opened read-only and fsync(2)ed;
/// on Windows there is no equivalent (NTFS journals the rename as metadata), so that is a no-op there — a documented
/// limit. Data is flushed with fdatasync(2) on Linux (the size and the bytes, not the times) and with
/// <see cref="RandomAccess.FlushToDisk"/> elsewhere. Blocking: call them off the thread pool.
/// </summary>
internal static partial class FileSync
{
    /// <summary>Makes the entries of <paramref name="directory"/> durable (a create or rename in it).</summary>
    public static void Directory(string directory)
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

    /// <summary>Makes the bytes and the size of an open file durable.</summary>
    public static void Data(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (FDataSync(checked((int)handle.DangerousGetHandle())) != 0)
            {
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
