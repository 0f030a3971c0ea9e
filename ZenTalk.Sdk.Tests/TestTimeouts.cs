using System.Reflection;
using NUnit.Framework.Interfaces;
using NUnit.Framework.Internal;

[assembly: ZenTalk.Sdk.Tests.DefaultCancelAfter(ZenTalk.Sdk.Tests.DefaultCancelAfterAttribute.Milliseconds)]

namespace ZenTalk.Sdk.Tests;

/// <summary>
/// The suite-wide test timeout: every test that takes NUnit's <see cref="CancellationToken"/> gets one that is
/// cancelled after five minutes, unless its fixture or method sets its own [CancelAfter].
/// </summary>
/// <remarks>
/// NUnit 4 on .NET cannot abort a thread, so [Timeout] (and the runsettings' DefaultTimeout) only marks every test an
/// error there, and [CancelAfter] may not be put on an assembly. The same two context settings that [CancelAfter]
/// sets, set once for the assembly, are inherited by every fixture and test. Cancellation stays cooperative: a test
/// must take the token and pass it on (CA2016 is a build error in this project, and
/// <see cref="TestTimeoutTests"/> fails for an async test under [CancelAfter] that does not take it).
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class DefaultCancelAfterAttribute(int milliseconds) : NUnitAttribute, IApplyToContext
{
    /// <summary>Five minutes: longer than any test without its own limit takes on a loaded 2-core machine.</summary>
    public const int Milliseconds = 300_000;

    public int Timeout { get; } = milliseconds;

    public void ApplyToContext(TestExecutionContext context)
    {
        context.TestCaseTimeout = Timeout;
        context.UseCancellation = true;
    }
}

/// <summary>Every test timeout is real: the tests under a [CancelAfter] take the token it cancels.</summary>
[TestFixture]
public class TestTimeoutTests
{
    private static readonly Type[] TestAttributes = [typeof(TestAttribute), typeof(TestCaseAttribute), typeof(TestCaseSourceAttribute)];

    [Test]
    public void Every_async_test_under_a_cancel_after_takes_the_cancellation_token()
    {
        var tests = typeof(TestTimeoutTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => TestAttributes.Any(a => m.IsDefined(a, inherit: false)))
            .ToList();
        var limited = tests
            .Where(m => m.IsDefined(typeof(CancelAfterAttribute), false) || m.DeclaringType!.IsDefined(typeof(CancelAfterAttribute), false))
            .ToList();
        var deaf = limited
            .Where(m => typeof(Task).IsAssignableFrom(m.ReturnType) || m.ReturnType == typeof(ValueTask))
            .Where(m => m.GetParameters() is not [.., { ParameterType: var last }] || last != typeof(CancellationToken))
            .Select(m => $"{m.DeclaringType!.Name}.{m.Name}")
            .ToList();

        Assert.That(limited, Is.Not.Empty, "the suite has tests with their own [CancelAfter]");
        Assert.That(deaf, Is.Empty, "these async tests have a [CancelAfter] but never see its token, so it cannot stop them");
    }

    [Test]
    public void The_assembly_gives_every_test_a_default_limit()
    {
        var attribute = typeof(TestTimeoutTests).Assembly.GetCustomAttribute<DefaultCancelAfterAttribute>();
        Assert.That(attribute?.Timeout, Is.EqualTo(DefaultCancelAfterAttribute.Milliseconds));
    }

    // NUnit1027 does not know about an assembly-wide limit; this test checks that it exists.
#pragma warning disable NUnit1027
    [Test]
    public async Task A_test_without_its_own_limit_gets_a_token_that_can_be_cancelled(CancellationToken cancellationToken)
    {
        Assert.That(cancellationToken.CanBeCanceled, Is.True, "the assembly-wide default reached this test");
        Assert.That(TestContext.CurrentContext.CancellationToken, Is.EqualTo(cancellationToken));
        await Task.Yield();
    }
#pragma warning restore NUnit1027
}
