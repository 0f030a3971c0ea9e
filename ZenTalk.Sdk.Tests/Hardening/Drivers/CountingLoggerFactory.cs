using Microsoft.Extensions.Logging;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>Counts warnings and errors: the RPC layer logs a warning when a handler throws something it did not expect.</summary>
internal sealed class CountingLoggerFactory : ILoggerFactory
{
    private int _warnings;
    private readonly List<string> _messages = [];

    public int Warnings => Volatile.Read(ref _warnings);

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages) return _messages.ToList();
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private sealed class Logger(CountingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel < LogLevel.Warning) return;
            Interlocked.Increment(ref owner._warnings);
            lock (owner._messages)
                if (owner._messages.Count < 20) owner._messages.Add(formatter(state, exception) + " " + exception);
        }
    }
}
