using System.Globalization;
using System.Text;
using System.Text.Json;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.StorageNode;

/// <summary>
/// <c>zentalk-node init</c>: writes a commented <c>appsettings.json</c> into the data directory, with the values the
/// command line gave, and creates the node key, the owner key and the API token (each mode 0600). Keys and token are
/// never replaced; an existing configuration only with <c>--force</c>.
/// </summary>
internal static class NodeInit
{
    /// <summary>The mesh port <c>init</c> writes when none is given: fixed (peers find the node again after a
    /// restart) and below the range Linux picks outgoing ports from.</summary>
    public const int DefaultMeshPort = 7000;

    public static int Run(NodeCommandLine commandLine, TextWriter output)
    {
        if (!commandLine.Values.ContainsKey("Mesh:Port")) commandLine.Values["Mesh:Port"] = DefaultMeshPort.ToString(CultureInfo.InvariantCulture);
        var (config, _) = NodeConfiguration.Build(commandLine);
        var settings = NodeSettings.From(config);
        NodeKeys.PrepareDataDirectory(settings.DataDirectory);
        var file = commandLine.ConfigFile ?? Path.Combine(settings.DataDirectory, NodeSettings.DefaultConfigFileName);
        if (File.Exists(file) && !commandLine.Force)
            throw StartupException.Configuration($"{file} exists already; edit it, or run init again with --force to replace it (keys and token are kept).");

        using var keys = NodeKeys.LoadOrCreate(settings, created => output.WriteLine($"created {created} (mode 0600)"));
        NodeId nodeId;
        try
        {
            Directory.CreateDirectory(settings.MeshDirectory);
            using var identity = NodeIdentity.LoadOrCreate(settings.MeshDirectory);
            nodeId = identity.Id;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ZenTalk.MeshStorage.IntegrityException)
        {
            throw new StartupException(ExitCodes.Keys, $"the node key in {settings.MeshDirectory} cannot be read or created ({e.Message}).", e);
        }

        var text = Render(settings);
        var temporary = file + ".tmp";
        File.WriteAllText(temporary, text, new UTF8Encoding(false));
        File.Move(temporary, file, overwrite: true);
        output.WriteLine($"wrote {file}");
        output.WriteLine($"node id {nodeId}");
        output.WriteLine(settings.MeshPort == 0
            ? "its mesh port is chosen at each start (port 0): others join it with the --bootstrap string it prints then"
            : $"others join it with --bootstrap {Host(settings)}:{settings.MeshPort}@{nodeId}");
        output.WriteLine($"start it with: zentalk-node --data {settings.DataDirectory}");
        return ExitCodes.Stopped;
    }

    private static string Host(NodeSettings settings) => settings.MeshAddress.ToString();

    /// <summary>The configuration file: every setting with its value and a comment saying what it does.</summary>
    private static string Render(NodeSettings s)
    {
        static string J(object? value) => JsonSerializer.Serialize(value);
        return $$"""
            // zentalk-node configuration. Environment variables ZENTALK_<Section>__<Key> (ZENTALK_Mesh__Port=7001) and the
            // command line (--port 7001, or --Mesh:Port=7001) override what is here. See docs/rest-api.md.
            {
              "Node": {
                // Keys, API token, shards and this file live here.
                "DataDirectory": {{J(s.DataDirectory)}},
                // The owner key (PKCS#8 PEM, mode 0600) signs what this node stores and deletes.
                "OwnerKeyFile": {{J(s.OwnerKeyFile)}}
              },
              "Mesh": {
                // Where peers reach this node. 127.0.0.1 serves this machine only: give an address of this host to
                // serve others. Keep the port fixed and below 32768 (Linux picks outgoing ports from 32768-60999).
                "Address": {{J(s.MeshAddress.ToString())}},
                "Port": {{s.MeshPort}},
                // Peers to join through, "host:port" or "host:port@nodeid" (a node prints its own at start).
                "Bootstrap": {{J(s.Bootstrap)}},
                // Also find peers on the local network by mDNS.
                "Mdns": {{J(s.Mdns)}},
                // The most shard bytes this node stores for others (default 10 GiB). Of that, one owner key and one
                // sending peer may account for an eighth each, one address prefix (IPv4 /24, IPv6 /48) for a quarter
                // (the whole quota on a loopback address); null keeps those shares.
                "QuotaBytes": {{s.QuotaBytes}},
                "MaxBytesPerOwner": {{J(s.MaxBytesPerOwner)}},
                "MaxBytesPerPeer": {{J(s.MaxBytesPerPeer)}},
                "MaxBytesPerAddressPrefix": {{J(s.MaxBytesPerAddressPrefix)}},
                // How often repair checks the files this node is responsible for ("off" turns it off).
                "RepairInterval": {{J(s.RepairInterval == Timeout.InfiniteTimeSpan ? "off" : s.RepairInterval.ToString("c", CultureInfo.InvariantCulture))}}
              },
              "Api": {
                // The REST API and status page. Keep 127.0.0.1 unless a TLS-terminating proxy is in front.
                "Address": {{J(s.ApiAddress.ToString())}},
                "Port": {{s.ApiPort}},
                // Host names the API answers to besides localhost, 127.0.0.1, [::1] and its own address.
                "AllowedHosts": {{J(s.AllowedHosts)}},
                // Largest upload body, in bytes.
                "MaxUploadBytes": {{s.MaxUploadBytes}},
                // Most open HTTP connections.
                "MaxConnections": {{s.MaxConnections}}
              },
              "Transfers": {
                // Memory for uploads and downloads in flight; past it a request waits up to QueueTimeout, then gets 503.
                "MemoryBudgetBytes": {{s.TransferMemoryBytes}},
                "QueueTimeout": {{J(s.TransferQueueTimeout.ToString("c", CultureInfo.InvariantCulture))}}
              },
              "Telemetry": {
                // An OTLP collector (http://host:4317) to send metrics and traces to; null sends none. /metrics serves
                // Prometheus either way.
                "OtlpEndpoint": {{J(s.OtlpEndpoint?.ToString())}}
              },
              "Logging": {
                "Console": {
                  // simple (one line per entry), json (one JSON object per line) or systemd (journal priorities).
                  "FormatterName": {{J(s.LogFormat)}}
                },
                "LogLevel": {
                  "Default": "Information",
                  "Microsoft.AspNetCore": "Warning"
                }
              }
            }

            """;
    }
}
