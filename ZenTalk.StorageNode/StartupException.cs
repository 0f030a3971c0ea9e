namespace ZenTalk.StorageNode;

/// <summary>The exit codes of <c>zentalk-node</c> (docs/rest-api.md, "Exit codes").</summary>
internal static class ExitCodes
{
    public const int Stopped = 0;
    public const int Unexpected = 1;
    public const int Configuration = 2;
    public const int DataDirectory = 3;
    public const int MeshAddress = 4;
    public const int ApiAddress = 5;
    public const int Keys = 6;
}

/// <summary>
/// A start that cannot go on: its message is the one line printed on stderr (what is wrong and how to fix it), and
/// the process exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class StartupException(int exitCode, string message, Exception? innerException = null) : Exception(message, innerException)
{
    public int ExitCode { get; } = exitCode;

    public static StartupException Configuration(string message) => new(ExitCodes.Configuration, message);
}
