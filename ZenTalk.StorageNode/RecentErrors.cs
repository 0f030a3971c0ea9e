namespace ZenTalk.StorageNode;

/// <summary>
/// The last warnings and errors the node logged, for the status page and <c>GET /node</c>: a logger provider that keeps
/// the most recent <see cref="Capacity"/> entries of level Warning or above.
/// </summary>
internal sealed class RecentErrors : ILoggerProvider
{
    public const int Capacity = 20;
    private readonly Queue<Entry> _entries = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public RecentErrors(TimeProvider time) => _time = time;

    public sealed record Entry(DateTimeOffset At, string Level, string Category, string Message);

    public IReadOnlyList<Entry> Snapshot()
    {
        lock (_lock) return _entries.Reverse().ToList();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private void Add(Entry entry)
    {
        lock (_lock)
        {
            if (_entries.Count == Capacity) _entries.Dequeue();
            _entries.Enqueue(entry);
        }
    }

    private sealed class Logger(RecentErrors owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is not null) message += $" ({exception.GetType().Name}: {exception.Message})";
            owner.Add(new Entry(owner._time.GetUtcNow(), logLevel.ToString(), category, message));
        }
    }
}
