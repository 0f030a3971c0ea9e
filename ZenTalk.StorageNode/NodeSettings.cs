using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using ZenTalk.MeshStorage;

namespace ZenTalk.StorageNode;

/// <summary>
/// The node's settings, read from the merged configuration (appsettings.json, then <c>ZENTALK_</c> environment
/// variables, then the command line) and checked before anything starts: a bad value is one clear line and exit code 2.
/// </summary>
internal sealed class NodeSettings
{
    public const string DefaultConfigFileName = "appsettings.json";

    public required string DataDirectory { get; init; }
    public required string OwnerKeyFile { get; init; }
    public string TokenFile => Path.Combine(DataDirectory, "api-token");
    public string MeshDirectory => Path.Combine(DataDirectory, "mesh");

    public IPAddress MeshAddress { get; init; } = IPAddress.Loopback;
    public int MeshPort { get; init; }
    public IReadOnlyList<string> Bootstrap { get; init; } = [];
    public bool Mdns { get; init; }
    public string? PrivateNetworkKeyFile { get; init; }
    public long QuotaBytes { get; init; } = MeshShardStorageOptions.DefaultQuotaBytes;
    public long? MaxBytesPerOwner { get; init; }
    public long? MaxBytesPerPeer { get; init; }
    public long? MaxBytesPerAddressPrefix { get; init; }
    public TimeSpan RepairInterval { get; init; } = TimeSpan.FromMinutes(10);
    public int LocalPeers { get; init; }

    public IPAddress ApiAddress { get; init; } = IPAddress.Loopback;
    public int ApiPort { get; init; } = 5080;
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];
    public long MaxUploadBytes { get; init; } = 1L << 30;
    public int MaxConnections { get; init; } = 1000;

    public long TransferMemoryBytes { get; init; } = 256L << 20;
    public TimeSpan TransferQueueTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public Uri? OtlpEndpoint { get; init; }
    public string LogFormat { get; init; } = "simple";

    /// <summary>The default data directory: a ZenTalk/StorageNode folder under the user's local application data.</summary>
    public static string DefaultDataDirectory => Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
        "ZenTalk", "StorageNode");

    /// <exception cref="StartupException">A value is malformed or out of range (exit code 2).</exception>
    public static NodeSettings From(IConfiguration config)
    {
        var data = Path.GetFullPath(config["Node:DataDirectory"] is { Length: > 0 } d ? d : DefaultDataDirectory);
        var settings = new NodeSettings
        {
            DataDirectory = data,
            OwnerKeyFile = Path.GetFullPath(config["Node:OwnerKeyFile"] is { Length: > 0 } k ? k : Path.Combine(data, "owner-key.pem")),
            MeshAddress = Address(config, "Mesh:Address", IPAddress.Loopback),
            MeshPort = Port(config, "Mesh:Port", 0),
            Bootstrap = List(config, "Mesh:Bootstrap"),
            Mdns = Bool(config, "Mesh:Mdns"),
            PrivateNetworkKeyFile = config["Mesh:PrivateNetworkKeyFile"] is { Length: > 0 } network ? Path.GetFullPath(network) : null,
            QuotaBytes = Long(config, "Mesh:QuotaBytes", MeshShardStorageOptions.DefaultQuotaBytes, 0, long.MaxValue),
            MaxBytesPerOwner = OptionalLong(config, "Mesh:MaxBytesPerOwner"),
            MaxBytesPerPeer = OptionalLong(config, "Mesh:MaxBytesPerPeer"),
            MaxBytesPerAddressPrefix = OptionalLong(config, "Mesh:MaxBytesPerAddressPrefix"),
            RepairInterval = Interval(config, "Mesh:RepairInterval", TimeSpan.FromMinutes(10)),
            LocalPeers = (int)Long(config, "Mesh:LocalPeers", 0, 0, 64),
            ApiAddress = Address(config, "Api:Address", IPAddress.Loopback),
            ApiPort = Port(config, "Api:Port", 5080),
            AllowedHosts = List(config, "Api:AllowedHosts"),
            MaxUploadBytes = Long(config, "Api:MaxUploadBytes", 1L << 30, 1, long.MaxValue),
            MaxConnections = (int)Long(config, "Api:MaxConnections", 1000, 1, 100_000),
            TransferMemoryBytes = Long(config, "Transfers:MemoryBudgetBytes", 256L << 20, 1, long.MaxValue),
            TransferQueueTimeout = Interval(config, "Transfers:QueueTimeout", TimeSpan.FromSeconds(10), allowOff: false),
            OtlpEndpoint = config["Telemetry:OtlpEndpoint"] is { Length: > 0 } otlp
                ? Uri.TryCreate(otlp, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                    ? uri
                    : throw Bad("Telemetry:OtlpEndpoint", otlp, "an http:// or https:// URL of an OTLP collector")
                : null,
            LogFormat = config["Logging:Console:FormatterName"] is { Length: > 0 } format ? format.ToLowerInvariant() : "simple",
        };
        if (settings.LogFormat is not ("simple" or "json" or "systemd"))
            throw Bad("Logging:Console:FormatterName (--log-format)", settings.LogFormat, "simple, json or systemd");
        foreach (var peer in settings.Bootstrap)
        {
            int at = peer.LastIndexOf('@');
            var endpoint = at >= 0 ? peer[..at] : peer;
            int colon = endpoint.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                throw Bad("Mesh:Bootstrap (--bootstrap)", peer, "host:port or host:port@nodeid, as a node prints at start");
        }
        return settings;
    }

    /// <summary>Every text form of a configuration key's value, for the one-line error.</summary>
    private static StartupException Bad(string key, string value, string expected) =>
        StartupException.Configuration($"configuration value {key} = '{value}' is not valid: expected {expected}.");

    private static IPAddress Address(IConfiguration config, string key, IPAddress fallback) =>
        config[key] is not { Length: > 0 } text ? fallback
        : IPAddress.TryParse(text, out var address) ? address
        : throw Bad(key, text, "an IP address such as 127.0.0.1 (a host name is not accepted)");

    private static int Port(IConfiguration config, string key, int fallback) => (int)Long(config, key, fallback, 0, 65535);

    private static long Long(IConfiguration config, string key, long fallback, long min, long max) =>
        config[key] is not { Length: > 0 } text ? fallback
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value
        : throw Bad(key, text, $"a whole number from {min} to {max}");

    private static long? OptionalLong(IConfiguration config, string key) =>
        config[key] is { Length: > 0 } ? Long(config, key, 0, 0, long.MaxValue) : null;

    private static bool Bool(IConfiguration config, string key) =>
        config[key] is not { Length: > 0 } text ? false
        : bool.TryParse(text, out var value) ? value
        : throw Bad(key, text, "true or false");

    private static TimeSpan Interval(IConfiguration config, string key, TimeSpan fallback, bool allowOff = true)
    {
        if (config[key] is not { Length: > 0 } text) return fallback;
        if (allowOff && text.Equals("off", StringComparison.OrdinalIgnoreCase)) return Timeout.InfiniteTimeSpan;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero
            ? value
            : throw Bad(key, text, allowOff ? "a positive time span such as 00:10:00, or off" : "a positive time span such as 00:00:10");
    }

    private static List<string> List(IConfiguration config, string key)
    {
        var section = config.GetSection(key);
        // A single value (ZENTALK_Mesh__Bootstrap=a,b) or a list (Mesh:Bootstrap:0, :1, ... from JSON or the command line).
        var items = section.Value is { Length: > 0 } single ? [single] : section.GetChildren().Select(c => c.Value).OfType<string>().ToList();
        return items.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    }
}
