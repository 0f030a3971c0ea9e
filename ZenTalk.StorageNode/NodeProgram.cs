namespace ZenTalk.StorageNode;

/// <summary>
/// The process: parse, configure, check, start, print where the node is, wait for SIGTERM / SIGINT / systemd, stop
/// gracefully. A start that fails prints one line on stderr (what is wrong and how to fix it) and exits with the code
/// of <see cref="ExitCodes"/> that names the cause. The terminal is the caller's: <c>Program.cs</c> passes the console's
/// writers, and everything past start-up goes through the host's logger.
/// </summary>
internal static class NodeProgram
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        try
        {
            bool init = args.Length > 0 && args[0] == "init";
            var commandLine = NodeCommandLine.Parse(init ? args[1..] : args);
            if (commandLine.Help)
            {
                output.WriteLine(NodeCommandLine.Usage);
                return ExitCodes.Stopped;
            }
            if (commandLine.Version)
            {
                output.WriteLine($"zentalk-node {RestApi.Version}");
                return ExitCodes.Stopped;
            }
            if (init) return NodeInit.Run(commandLine, output);
            if (commandLine.Force) throw StartupException.Configuration("--force belongs to 'zentalk-node init'.");
            return await RunNodeAsync(commandLine, output).ConfigureAwait(false);
        }
        catch (StartupException e)
        {
            await error.WriteLineAsync($"zentalk-node: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"zentalk-node: unexpected failure, {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
            return ExitCodes.Unexpected;
        }
    }

    private static async Task<int> RunNodeAsync(NodeCommandLine commandLine, TextWriter output)
    {
        var (config, file) = NodeConfiguration.Build(commandLine);
        var settings = NodeSettings.From(config);
        NodeKeys.PrepareDataDirectory(settings.DataDirectory);
        var created = new List<string>();
        using var keys = NodeKeys.LoadOrCreate(settings, created.Add);
        await using var host = await StorageNodeHost.StartAsync(settings, config, keys, CancellationToken.None).ConfigureAwait(false);
        foreach (var path in created) host.Logger.Created(path);
        var node = host.State.Node;
        if (settings.LogFormat == "json")
        {
            host.Logger.Started(
                node.Id, node.Endpoint, node.BootstrapAddress, host.HttpAddress, settings.DataDirectory, file ?? "none");
        }
        else
        {
            output.WriteLine($"ZenTalk storage node {node.Id}");
            output.WriteLine($"  mesh:     {node.Endpoint} (others join with --bootstrap {node.BootstrapAddress})");
            output.WriteLine($"  REST API: {host.HttpAddress} (status page; writes need the token in {settings.TokenFile})");
            output.WriteLine($"  data:     {settings.DataDirectory}{(file is null ? "" : $" (configuration {file})")}");
            output.WriteLine("Stop with Ctrl+C or SIGTERM.");
        }
        await host.WaitForShutdownAsync().ConfigureAwait(false);
        await host.StopAsync().ConfigureAwait(false);
        host.Logger.Stopped();
        return ExitCodes.Stopped;
    }
}
