namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>What a fuzz run did: cases executed, how they ended, and every unexpected failure with the input that caused it.</summary>
internal sealed class FuzzReport(string target)
{
    private readonly List<string> _crashes = [];
    private readonly Dictionary<string, long> _outcomes = [];

    public string Target { get; } = target;
    public long Cases { get; private set; }
    public IReadOnlyList<string> Crashes => _crashes;
    public long CrashCount => _outcomes.GetValueOrDefault("CRASH");
    public IReadOnlyDictionary<string, long> Outcomes => _outcomes;

    public void Count(string outcome)
    {
        Cases++;
        _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
    }

    /// <summary>Records an unexpected exception (kept: the first 20, each with its input in hex).</summary>
    public void Crash(Exception ex, ReadOnlySpan<byte> input)
    {
        Count("CRASH");
        if (_crashes.Count < 20)
            _crashes.Add($"input {Convert.ToHexString(input[..Math.Min(input.Length, 256)])}\n{ex}");
    }

    public void Crash(string what)
    {
        Count("CRASH");
        if (_crashes.Count < 20) _crashes.Add(what);
    }

    public override string ToString() =>
        $"{Target}: {Cases} cases, {CrashCount} crashes; " + string.Join(", ", _outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value}"));
}
