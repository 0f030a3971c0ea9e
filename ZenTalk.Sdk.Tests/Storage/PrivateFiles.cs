namespace ZenTalk.Sdk.Tests.Storage;

/// <summary>What the operating system says about who can read a file (Unix file modes; Linux's /proc for open files).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class PrivateFiles
{
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>The files this process holds open whose file name contains <paramref name="fragment"/>.</summary>
    public static List<string> OpenNamed(string fragment)
    {
        var found = new List<string>();
        foreach (var link in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(link).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }

            if (target is not null && target.StartsWith('/') && Path.GetFileName(target).Contains(fragment, StringComparison.Ordinal))
                found.Add(target);
        }

        return found.Distinct().ToList();
    }

    /// <summary>
    /// Who may read <paramref name="path"/>, looked at now: private when the file has no group or other bits, or its
    /// directory has none.
    /// </summary>
    public static Access AccessTo(string path)
    {
        var file = File.GetUnixFileMode(path);
        var directory = File.GetUnixFileMode(Path.GetDirectoryName(path)!);
        return new Access(path, file, directory, (file & GroupOrOther) == 0 || (directory & GroupOrOther) == 0);
    }

    /// <summary>A file's and its directory's modes at one moment.</summary>
    public readonly record struct Access(string Path, UnixFileMode File, UnixFileMode Directory, bool Private)
    {
        public override string ToString() => $"{Path} (mode {Convert.ToString((int)File, 8)}, directory {Convert.ToString((int)Directory, 8)})";
    }

    /// <summary>The mode of a file that only its owner may read and write (0600).</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>A stream that calls <paramref name="onFirstWrite"/> once, when the first bytes arrive, then keeps them.</summary>
    public sealed class Watching(Action onFirstWrite) : MemoryStream
    {
        private bool _seen;

        public override void Write(byte[] buffer, int offset, int count)
        {
            Once();
            base.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Once();
            base.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Once();
            return base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Once();
            return base.WriteAsync(buffer, cancellationToken);
        }

        private void Once()
        {
            if (_seen) return;
            _seen = true;
            onFirstWrite();
        }
    }
}
