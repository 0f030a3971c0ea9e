using System.Diagnostics;

namespace ZenTalk.Sdk.Tests;

/// <summary>
/// Bounded waits for a condition that another task, node or process makes true. Every wait has a limit and says
/// what it waited for: a wait that runs out fails the test with that reason (and the last value seen), and the
/// test's own token (NUnit's [CancelAfter]) ends it early. Use these instead of a hand-written polling loop.
/// </summary>
internal static class Eventually
{
    /// <summary>How long to sleep between two looks, unless the caller says otherwise.</summary>
    public static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>Waits until <paramref name="condition"/> is true; fails the test if it is still false after <paramref name="timeout"/>.</summary>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string because, CancellationToken cancellationToken = default, TimeSpan? poll = null) =>
        ValueAsync(() => Task.FromResult(condition()), done => done, timeout, because, cancellationToken, poll);

    /// <summary>Waits until <paramref name="condition"/> completes with true; fails the test if it has not after <paramref name="timeout"/>.</summary>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string because, CancellationToken cancellationToken = default, TimeSpan? poll = null) =>
        ValueAsync(condition, done => done, timeout, because, cancellationToken, poll);

    /// <summary>
    /// Reads <paramref name="read"/> until its value satisfies <paramref name="done"/> and returns that value; fails the
    /// test, naming the last value read, if none did within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, string because,
        CancellationToken cancellationToken = default, TimeSpan? poll = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (clock.Elapsed >= timeout)
            {
                Assert.Fail($"still not so after {timeout.TotalSeconds:0.###} s (last seen: {value}): {because}");
            }

            await Task.Delay(poll ?? DefaultPoll, cancellationToken);
        }
    }
}
