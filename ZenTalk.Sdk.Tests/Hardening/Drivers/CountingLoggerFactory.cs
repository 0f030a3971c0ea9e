using Microsoft.Extensions.Logging;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>Counts warnings and errors: the RPC layer logs a warning when a handler throws something it did not expect.</summary>
internal sealed class CountingLoggerFactory : ILoggerFactory
{
    private int _warnings;
    private readonly List<string> _messages = [];
    private readonly List<string> _all = [];

    public int Warnings => Volatile.Read(ref _warnings);

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages) return _messages.ToList();
        }
    }

    /// <summary>How many warnings and errors so far contain <paramref name="text"/> (the first 10,000 are searched).</summary>
    public int CountContaining(string text)
    {
        lock (_all) return _all.Count(m => m.Contains(text, StringComparison.Ordinal));
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
            var message = formatter(state, exception);
            lock (owner._messages)
                if (owner._messages.Count < 20) owner._messages.Add(message + " " + exception);
            lock (owner._all)
                if (owner._all.Count < 10_000) owner._all.Add(message);
        }
    }
}
