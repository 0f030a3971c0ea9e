using System.Diagnostics;

namespace ZenTalk.Testnet.Network;

/// <summary>
/// A child network namespace, held open by a small process (<c>unshare -n cat</c>) that lives as long as its standard
/// input stays open: if the coordinator dies, the pipe closes, the holder exits, and the namespace goes with its last
/// process. Everything that runs "in" the namespace enters it by the holder's pid (<c>nsenter -t pid -n</c>).
/// </summary>
internal sealed class NodeNamespace : IDisposable
{
    private readonly Process _holder;

    private NodeNamespace(Process holder, string name)
    {
        _holder = holder;
        Name = name;
    }

    /// <summary>A short name for logs ("n3", "c0").</summary>
    public string Name { get; }

    /// <summary>The holder's pid: <c>nsenter -t Pid -n</c> enters the namespace; <c>ip link set X netns Pid</c> moves a link in.</summary>
    public int Pid => _holder.Id;

    public static async Task<NodeNamespace> CreateAsync(string name, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo("unshare", ["-n", "--", "cat"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var holder = Process.Start(psi) ?? throw new InvalidOperationException("could not start the namespace holder");
        // unshare(2) then exec: until both happened, the pid still names this namespace, and a link moved "into" it
        // would stay here. Wait until its namespace is another one.
        string own = NetNamespaceOf("self");
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            string? theirs = null;
            try
            {
                theirs = NetNamespaceOf(holder.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // Not there yet, or already gone (checked below).
            }
            if (theirs is not null && theirs != own) break;
            if (holder.HasExited) throw new InvalidOperationException($"the holder of namespace {name} exited with {holder.ExitCode}");
            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                holder.Kill();
                throw new TimeoutException($"namespace {name} was not created within 10 s");
            }
            await Task.Delay(5, cancellationToken);
        }
        return new NodeNamespace(holder, name);
    }

    private static string NetNamespaceOf(string pid) =>
        new FileInfo($"/proc/{pid}/ns/net").LinkTarget ?? throw new IOException("no namespace link");

    public void Dispose()
    {
        try
        {
            _holder.StandardInput.Close();
            if (!_holder.WaitForExit(2000)) _holder.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _holder.Dispose();
    }
}
