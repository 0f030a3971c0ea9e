using System.Globalization;
using System.Net;

namespace StorageNode;

/// <summary>The node's command line: where the mesh node listens, where it keeps data, and the REST API's address.</summary>
internal sealed class StorageNodeSettings
{
    public const string Usage = """
        Usage: StorageNode [options]
          --port <n>              mesh (peer-to-peer) port on the listen address; 0 picks a free one (default 0)
          --listen <address>      mesh listen address (default 127.0.0.1)
          --data <dir>            data directory: shards and the owner key (default: a ZenTalk/StorageNode folder
                                  under the user's local application data)
          --bootstrap <peers>     peers to join, host:port[@nodeid], comma-separated or repeated
          --mdns                  also find peers on the local network by mDNS
          --http-port <n>         REST API port (default 5080; 0 picks a free one)
          --http-address <addr>   REST API address (default 127.0.0.1; anything else exposes the API, see docs)
          --owner-key <file.pem>  the owner key (PKCS#8 PEM) that signs uploads and deletes; created there if
                                  missing (default: <data>/owner-key.pem)
          --max-upload-bytes <n>  largest accepted upload body (default 1073741824 = 1 GiB)
          --local-mesh <n>        also start n in-process peers on loopback and join them (a mesh on one machine)
          --short                 self-test: start with a local 14-node mesh, call every endpoint once, exit
        """;

    public int MeshPort { get; set; }
    public string ListenAddress { get; set; } = "127.0.0.1";
    public string? DataDirectory { get; set; }
    public List<string> Bootstrap { get; } = [];
    public bool Mdns { get; set; }
    public int HttpPort { get; set; } = 5080;
    public IPAddress HttpAddress { get; set; } = IPAddress.Loopback;
    public string? OwnerKeyPath { get; set; }
    public long MaxUploadBytes { get; set; } = 1L << 30;
    public int LocalMesh { get; set; }
    public bool Short { get; set; }

    /// <summary>Quiets ASP.NET Core's own logging (tests).</summary>
    public bool Quiet { get; set; }

    public string ResolvedDataDirectory => DataDirectory ?? Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
        "ZenTalk", "StorageNode");

    public string ResolvedOwnerKeyPath => OwnerKeyPath ?? Path.Combine(ResolvedDataDirectory, "owner-key.pem");

    /// <exception cref="ArgumentException">An unknown option or a bad value, with a message that says which.</exception>
    public static StorageNodeSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new StorageNodeSettings();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{name} needs a value.", nameof(args));
                }
                return args[++i];
            }
            int Port() => int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
                ? port
                : throw new ArgumentException($"{name} must be a port number from 0 to 65535.", nameof(args));
            switch (name)
            {
                case "--port": settings.MeshPort = Port(); break;
                case "--listen": settings.ListenAddress = Value(); break;
                case "--data": settings.DataDirectory = Path.GetFullPath(Value()); break;
                case "--bootstrap":
                    settings.Bootstrap.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--mdns": settings.Mdns = true; break;
                case "--http-port": settings.HttpPort = Port(); break;
                case "--http-address":
                    settings.HttpAddress = IPAddress.TryParse(Value(), out var address)
                        ? address
                        : throw new ArgumentException("--http-address must be an IP address.", nameof(args));
                    break;
                case "--owner-key": settings.OwnerKeyPath = Path.GetFullPath(Value()); break;
                case "--max-upload-bytes":
                    settings.MaxUploadBytes = long.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0
                        ? max
                        : throw new ArgumentException("--max-upload-bytes must be a positive number of bytes.", nameof(args));
                    break;
                case "--local-mesh":
                    settings.LocalMesh = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 64
                        ? n
                        : throw new ArgumentException("--local-mesh must be a number of peers from 0 to 64.", nameof(args));
                    break;
                case "--short": settings.Short = true; break;
                default: throw new ArgumentException($"Unknown option '{name}'.", nameof(args));
            }
        }
        return settings;
    }
}
