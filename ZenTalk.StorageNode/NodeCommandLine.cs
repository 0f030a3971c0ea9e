namespace ZenTalk.StorageNode;

/// <summary>
/// The command line: the node's own flags (<c>--port --data --bootstrap --http-port --mdns</c> and the others in
/// <see cref="Usage"/>), each an alias of a configuration key, and any configuration key itself as
/// <c>--Section:Key=value</c> or <c>--Section:Key value</c>, as .NET's command-line configuration reads them.
/// </summary>
internal sealed class NodeCommandLine
{
    public const string Usage = """
        Usage: zentalk-node [options]            run the node
               zentalk-node init [options]       write <data>/appsettings.json, the keys and the API token, then exit

        Options (each sets the configuration key in brackets; appsettings.json and ZENTALK_ environment variables such
        as ZENTALK_Mesh__Port=7001 set the same keys; the command line wins, then the environment, then the file):
          --data <dir>               data directory: keys, token, shards, appsettings.json [Node:DataDirectory]
          --config <file>            configuration file (default: <data>/appsettings.json when it exists)
          --port <n>                 mesh (peer-to-peer) TCP port; 0 picks a free one [Mesh:Port]
          --listen <ip>              mesh listen address, default 127.0.0.1 [Mesh:Address]
          --bootstrap <peers>        peers to join, host:port[@nodeid], comma-separated or repeated [Mesh:Bootstrap]
          --mdns                     also find peers on the local network by mDNS [Mesh:Mdns]
          --quota <bytes>            most shard bytes this node stores for others, default 10 GiB [Mesh:QuotaBytes]
          --private-network-key <f>  admit only peers holding this network key file [Mesh:PrivateNetworkKeyFile]
          --http-port <n>            REST API port, default 5080; 0 picks a free one [Api:Port]
          --http-address <ip>        REST API address, default 127.0.0.1 [Api:Address]
          --allowed-host <name>      another Host name the API answers to (repeatable) [Api:AllowedHosts]
          --max-upload-bytes <n>     largest accepted upload body, default 1 GiB [Api:MaxUploadBytes]
          --owner-key <file.pem>     the owner key that signs uploads and deletes [Node:OwnerKeyFile]
          --log-format <f>           console log format: simple, json or systemd [Logging:Console:FormatterName]
          --otlp-endpoint <url>      also export metrics and traces by OTLP to this collector [Telemetry:OtlpEndpoint]
          --local-mesh <n>           also start n in-process peers on loopback and join them [Mesh:LocalPeers]
          --force                    init only: replace an existing appsettings.json (keys are never replaced)
          --help, --version
        """;

    /// <summary>Flags that take a value, and the configuration key each one sets.</summary>
    private static readonly Dictionary<string, string> ValueFlags = new(StringComparer.Ordinal)
    {
        ["--data"] = "Node:DataDirectory",
        ["--owner-key"] = "Node:OwnerKeyFile",
        ["--port"] = "Mesh:Port",
        ["--listen"] = "Mesh:Address",
        ["--quota"] = "Mesh:QuotaBytes",
        ["--private-network-key"] = "Mesh:PrivateNetworkKeyFile",
        ["--local-mesh"] = "Mesh:LocalPeers",
        ["--http-port"] = "Api:Port",
        ["--http-address"] = "Api:Address",
        ["--max-upload-bytes"] = "Api:MaxUploadBytes",
        ["--log-format"] = "Logging:Console:FormatterName",
        ["--otlp-endpoint"] = "Telemetry:OtlpEndpoint",
    };

    /// <summary>Command-line list entries are added after the file's and the environment's (a high index keeps them apart).</summary>
    private const int ListOffset = 1000;

    public Dictionary<string, string?> Values { get; } = new(StringComparer.OrdinalIgnoreCase);
    public string? ConfigFile { get; private set; }
    public bool Help { get; private set; }
    public bool Version { get; private set; }
    public bool Force { get; private set; }

    /// <exception cref="StartupException">An unknown option or a missing value (exit code 2).</exception>
    public static NodeCommandLine Parse(IReadOnlyList<string> args)
    {
        var result = new NodeCommandLine();
        int bootstrap = 0, hosts = 0;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? inline = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inline = arg[(equals + 1)..];
                arg = arg[..equals];
            }

            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw StartupException.Configuration($"{arg} needs a value; see zentalk-node --help.");
                return args[++i];
            }

            switch (arg)
            {
                case "--help" or "-h": result.Help = true; break;
                case "--version": result.Version = true; break;
                case "--force": result.Force = true; break;
                case "--mdns": result.Values["Mesh:Mdns"] = inline ?? "true"; break;
                case "--config": result.ConfigFile = Path.GetFullPath(Value()); break;
                case "--bootstrap":
                    foreach (var peer in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        result.Values[$"Mesh:Bootstrap:{ListOffset + bootstrap++}"] = peer;
                    break;
                case "--allowed-host":
                    result.Values[$"Api:AllowedHosts:{ListOffset + hosts++}"] = Value();
                    break;
                default:
                    if (ValueFlags.TryGetValue(arg, out var key))
                    {
                        var value = Value();
                        result.Values[key] = key is "Node:DataDirectory" or "Node:OwnerKeyFile" ? Path.GetFullPath(value) : value;
                    }
                    else if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains(':', StringComparison.Ordinal))
                    {
                        result.Values[arg[2..]] = Value();
                    }
                    else
                    {
                        throw StartupException.Configuration($"unknown option '{arg}'; see zentalk-node --help.");
                    }
                    break;
            }
        }
        return result;
    }
}
