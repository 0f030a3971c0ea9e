using Microsoft.Extensions.Hosting.Systemd;

namespace ZenTalk.StorageNode;

/// <summary>
/// Console logging in the format the configuration asks for (<c>Logging:Console:FormatterName</c>: simple, one line
/// per entry; json, one JSON object per line for log collectors; systemd, with syslog priority prefixes for the
/// journal), the <c>Logging:LogLevel</c> filters, and the <see cref="RecentErrors"/> the status page shows.
/// </summary>
internal static class NodeLogging
{
    public static void Configure(ILoggingBuilder logging, IConfiguration configuration, NodeSettings settings, RecentErrors errors)
    {
        // Quiet by default; appsettings.json's Logging:LogLevel, read after these, overrides them.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        logging.AddConfiguration(configuration.GetSection("Logging"));
        // Under systemd the journal reads priorities from the line prefix: its format is the default there.
        var format = settings.LogFormat == "simple" && configuration["Logging:Console:FormatterName"] is null && SystemdHelpers.IsSystemdService()
            ? "systemd" : settings.LogFormat;
        _ = format switch
        {
            "json" => logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"),
            "systemd" => logging.AddSystemdConsole(),
            _ => logging.AddSimpleConsole(o => o.SingleLine = true),
        };
        logging.AddProvider(errors);
        // The host's own report of a failed start is a stack trace: the node prints one line on stderr instead.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
    }
}
