using Microsoft.Extensions.Logging;

namespace ZenTalk.Testnet.Hosts;

/// <summary>Logs of a node or client process, one line each on standard error (the coordinator keeps them per host).</summary>
internal sealed class StderrLoggerFactory(LogLevel minimum) : ILoggerFactory
{
    private static readonly Lock WriteLock = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName[(categoryName.LastIndexOf('.') + 1)..], minimum);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("the testnet hosts log to standard error only");

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}" +
                (exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message})");
            lock (WriteLock) Console.Error.WriteLine(line);
        }
    }
}
