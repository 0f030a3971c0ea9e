using Microsoft.Extensions.Configuration;

namespace ZenTalk.StorageNode;

/// <summary>
/// Merges the configuration sources, later ones winning: the JSON file (comments allowed), environment variables
/// prefixed <c>ZENTALK_</c> (<c>__</c> separates sections), then the command line.
/// </summary>
internal static class NodeConfiguration
{
    public const string EnvironmentPrefix = "ZENTALK_";

    /// <exception cref="StartupException">The file named by --config is missing, or a file is not valid JSON (exit code 2).</exception>
    public static (IConfigurationRoot Config, string? File) Build(NodeCommandLine commandLine)
    {
        // Where the file is may itself come from the environment or the command line: read those first.
        var early = new ConfigurationBuilder()
            .AddEnvironmentVariables(EnvironmentPrefix)
            .AddInMemoryCollection(commandLine.Values)
            .Build();
        var file = commandLine.ConfigFile ?? (early["Config"] is { Length: > 0 } named ? Path.GetFullPath(named) : null);
        if (file is not null && !File.Exists(file))
            throw StartupException.Configuration($"the configuration file {file} does not exist; write one with 'zentalk-node init' or fix --config.");
        file ??= Path.Combine(NodeSettings.From(early).DataDirectory, NodeSettings.DefaultConfigFileName);

        var builder = new ConfigurationBuilder();
        if (File.Exists(file)) builder.AddJsonFile(file, optional: false, reloadOnChange: false);
        builder.AddEnvironmentVariables(EnvironmentPrefix).AddInMemoryCollection(commandLine.Values);
        try
        {
            return (builder.Build(), File.Exists(file) ? file : null);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw StartupException.Configuration($"the configuration file {file} is not valid JSON ({e.InnerException?.Message ?? e.Message}).");
        }
    }
}
