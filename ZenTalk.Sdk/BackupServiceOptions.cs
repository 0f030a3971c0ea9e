using Microsoft.Extensions.Logging;

namespace ZenTalk.Sdk;

/// <summary>Settings for <see cref="BackupService"/>. Every property has a documented default.</summary>
public sealed class BackupServiceOptions
{
    /// <summary>The clock for <see cref="BackupReceipt.CreatedAt"/>. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the service logs (backups, restores). Default: no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
