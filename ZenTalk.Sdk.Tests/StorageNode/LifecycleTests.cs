using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>
/// zentalk-node as a service manager sees it: init, start failures (one line on stderr, a distinct exit code, nothing
/// left running), SIGTERM (requests in flight finish, exit 0 within 10 s), a restart that still serves what it stored,
/// and systemd's readiness notification.
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class LifecycleTests
{
    private string _dir = null!;

    [SetUp]
    public void MakeDirectory() => _dir = Directory.CreateTempSubdirectory("zentalk-lifecycle-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_dir, recursive: true);

    private static void AssertOneLineFailure((int ExitCode, string Stdout, string Stderr) run, int exitCode, string mentions)
    {
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.Stderr + run.Stdout);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), run.Stderr);
        Assert.That(lines[0], Does.StartWith("zentalk-node: ").And.Contain(mentions));
        Assert.That(run.Stdout, Does.Not.Contain("REST API:").And.Not.Contain("   at "), "nothing claims to run, no stack trace");
    }

    [Test]
    public async Task A_bad_option_or_configuration_value_is_exit_code_2(CancellationToken cancellationToken)
    {
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--colour", "blue"], cancellationToken: cancellationToken), 2, "--colour");
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--port"], cancellationToken: cancellationToken), 2, "--port needs a value");
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir], new Dictionary<string, string> { ["ZENTALK_Api__Port"] = "99999" }, cancellationToken), 2, "Api:Port");
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--bootstrap", "no-port-here"], cancellationToken: cancellationToken), 2, "Mesh:Bootstrap");
        await File.WriteAllTextAsync(Path.Combine(_dir, "appsettings.json"), "{ \"Mesh\": { \"Port\": ", cancellationToken);
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir], cancellationToken: cancellationToken), 2, "not valid JSON");
    }

    [Test]
    public async Task A_data_path_that_is_a_file_is_exit_code_3(CancellationToken cancellationToken)
    {
        var file = Path.Combine(_dir, "not-a-directory");
        await File.WriteAllTextAsync(file, "x", cancellationToken);
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", file, "--http-port", "0"], cancellationToken: cancellationToken), 3, "is a file");
    }

    [Test]
    public async Task A_mesh_port_in_use_is_exit_code_4(CancellationToken cancellationToken)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString();
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--port", port, "--http-port", "0"], cancellationToken: cancellationToken), 4, $"127.0.0.1:{port}");
    }

    [Test]
    public async Task An_api_port_in_use_is_exit_code_5_and_the_mesh_it_had_started_is_stopped(CancellationToken cancellationToken)
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString();
        using var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var meshPort = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var run = await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--port", meshPort.ToString(), "--http-port", port], cancellationToken: cancellationToken);
        AssertOneLineFailure(run, 5, $"127.0.0.1:{port}");
        Assert.That(run.Stdout, Does.Contain("Mesh node").And.Contain("stopped"), "the mesh node was started, then stopped before the exit");
        using var again = new TcpListener(IPAddress.Loopback, meshPort);
        Assert.DoesNotThrow(again.Start, "the mesh port is free again");
    }

    [Test]
    public async Task A_corrupt_owner_key_is_exit_code_6(CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "owner-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", cancellationToken);
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--http-port", "0"], cancellationToken: cancellationToken), 6, "owner-key.pem");
    }

    [Test]
    public async Task A_missing_or_malformed_private_network_key_is_exit_code_6(CancellationToken cancellationToken)
    {
        var key = Path.Combine(_dir, "network.key");
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--http-port", "0", "--private-network-key", key], cancellationToken: cancellationToken), 6, "network.key");
        await File.WriteAllTextAsync(key, "/zentalk/private-network-key/v1\nnot hex\n", cancellationToken);
        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["--data", _dir, "--http-port", "0", "--private-network-key", key], cancellationToken: cancellationToken), 6, "hexadecimal");
    }

    [Test]
    public async Task Init_writes_a_commented_configuration_and_private_keys_that_the_node_then_runs_with(CancellationToken cancellationToken)
    {
        using var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var meshPort = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var data = Path.Combine(_dir, "node");
        var init = await StorageNodeProcess.RunToExitAsync(["init", "--data", data, "--port", meshPort.ToString(), "--http-port", "0", "--bootstrap", "127.0.0.1:7001"], cancellationToken: cancellationToken);
        Assert.That(init.ExitCode, Is.Zero, init.Stderr);
        Assert.That(init.Stdout, Does.Contain("--bootstrap 127.0.0.1:" + meshPort + "@"));
        foreach (var secret in new[] { "owner-key.pem", "api-token", "mesh/node.key" })
        {
            var path = Path.Combine(data, secret);
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), secret);
        }
        var config = await File.ReadAllTextAsync(Path.Combine(data, "appsettings.json"), cancellationToken);
        Assert.That(config, Does.Contain("//").And.Contain($"\"Port\": {meshPort}").And.Contain("\"127.0.0.1:7001\""));
        var token = await File.ReadAllTextAsync(Path.Combine(data, "api-token"), cancellationToken);

        AssertOneLineFailure(await StorageNodeProcess.RunToExitAsync(["init", "--data", data], cancellationToken: cancellationToken), 2, "--force");
        var forced = await StorageNodeProcess.RunToExitAsync(["init", "--data", data, "--force", "--port", meshPort.ToString(), "--http-port", "0"], cancellationToken: cancellationToken);
        Assert.That(forced.ExitCode, Is.Zero, forced.Stderr);
        Assert.That(await File.ReadAllTextAsync(Path.Combine(data, "api-token"), cancellationToken), Is.EqualTo(token), "init never replaces the token");

        // The node reads the file: the mesh port comes from it (no --port on the command line).
        await using var node = await StorageNodeProcess.StartAsync(data, [], cancellationToken: cancellationToken);
        Assert.That(node.Output, Does.Contain($"127.0.0.1:{meshPort} (others join"));
    }

    [Test]
    public void The_node_runs_with_the_workstation_garbage_collector()
    {
        // What the runtime reads at start. The Web SDK turns server GC on unless ServerGarbageCollection says otherwise:
        // its per-core heaps held a flooded node's resident set some 60 MiB higher (docs/reliability.md).
        var config = Path.ChangeExtension(StorageNodeProcess.ExecutablePath, ".runtimeconfig.json");
        using var json = JsonDocument.Parse(File.ReadAllText(config));
        var properties = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.That(properties.GetProperty("System.GC.Server").GetBoolean(), Is.False, config);
    }

    [Test]
    public async Task Init_with_port_0_leaves_both_ports_to_the_os_and_the_banner_prints_the_ports_it_got(CancellationToken cancellationToken)
    {
        var data = Path.Combine(_dir, "node");
        var init = await StorageNodeProcess.RunToExitAsync(["init", "--data", data, "--listen", "127.0.0.3", "--port", "0", "--http-address", "127.0.0.3", "--http-port", "0"],
            cancellationToken: cancellationToken);
        Assert.That(init.ExitCode, Is.Zero, init.Stderr);
        Assert.That(init.Stdout, Does.Contain("chosen at each start").And.Not.Contain(":0@"), "init names no port it does not know");
        var config = await File.ReadAllTextAsync(Path.Combine(data, "appsettings.json"), cancellationToken);
        Assert.That(config, Does.Contain("\"Port\": 0"));

        // StartAsync adds --http-port 0 itself; the mesh port comes from the file init wrote.
        await using var node = await StorageNodeProcess.StartAsync(data, [], cancellationToken: cancellationToken);
        var mesh = System.Text.RegularExpressions.Regex.Match(node.Output, @"mesh: +127\.0\.0\.3:(\d+) \(others join with --bootstrap 127\.0\.0\.3:(\d+)@[0-9a-f]{64}\)");
        Assert.That(mesh.Success, Is.True, node.Output);
        var meshPort = int.Parse(mesh.Groups[1].Value);
        Assert.That(meshPort, Is.Not.Zero.And.EqualTo(int.Parse(mesh.Groups[2].Value)));
        Assert.That(node.HttpAddress.Host, Is.EqualTo("127.0.0.3"));
        Assert.That(node.HttpAddress.Port, Is.Not.Zero);
        // Both printed ports are the ones the node listens on.
        using var http = node.CreateClient(withToken: false);
        using var health = await http.GetAsync("health", cancellationToken);
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Parse("127.0.0.3"), meshPort, cancellationToken);
    }

    [Test]
    public async Task Sigterm_lets_an_upload_in_flight_finish_exits_0_within_10_s_and_a_restart_serves_the_file(CancellationToken cancellationToken)
    {
        await using var mesh = await LocalMesh.StartAsync(4, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
        var data = Path.Combine(_dir, "node");
        string[] args = ["--bootstrap", string.Join(',', mesh.Nodes.Select(n => n.BootstrapAddress))];
        var file = RandomNumberGenerator.GetBytes(300_000);
        string cid, key;
        await using (var node = await StorageNodeProcess.StartAsync(data, args, cancellationToken: cancellationToken))
        {
            using var http = node.CreateClient();
            // The body trickles in over about two seconds; SIGTERM arrives in the middle of it.
            var upload = http.PostAsync("upload", new SlowContent(file, TimeSpan.FromSeconds(2)), cancellationToken);
            await Task.Delay(TimeSpan.FromMilliseconds(700), cancellationToken);
            var (exitCode, took) = await node.TerminateAsync();
            using var response = await upload;
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync(cancellationToken));
            Assert.That(exitCode, Is.Zero, node.Output);
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(10)));
            Assert.That(node.Output, Does.Contain("Stopped"));
            var json = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            (cid, key) = (json.GetProperty("cid").GetString()!, json.GetProperty("key").GetString()!);
        }

        await using (var again = await StorageNodeProcess.StartAsync(data, args, cancellationToken: cancellationToken))
        {
            using var http = again.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, $"download/{cid}");
            request.Headers.Add("X-ZenTalk-Key", key);
            using var response = await http.SendAsync(request, cancellationToken);
            Assert.That(await response.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(file));
            var (exitCode, took) = await again.TerminateAsync();
            Assert.That((exitCode, took < TimeSpan.FromSeconds(10)), Is.EqualTo((0, true)));
        }
    }

    [Test]
    public async Task Under_systemd_the_node_reports_ready_and_stopping_on_the_notify_socket(CancellationToken cancellationToken)
    {
        // systemd's notify protocol: a datagram "READY=1" on $NOTIFY_SOCKET once started. The hosting library speaks it
        // when the node's parent is systemd or the node is PID 1 (a container): here it is PID 1 of a PID namespace.
        if (!OperatingSystem.IsLinux() || await RunAsync("unshare", ["--pid", "--fork", "true"]) != 0)
            Assert.Ignore("unshare --pid is not permitted here (it needs root); the notify protocol cannot be exercised.");
        var socketPath = Path.Combine(_dir, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));

        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--pid", "--fork", "--kill-child", "dotnet", StorageNodeProcess.ExecutablePath, "--data", Path.Combine(_dir, "node"), "--http-port", "0" })
            psi.ArgumentList.Add(arg);
        psi.Environment["NOTIFY_SOCKET"] = socketPath;
        using var unshare = Process.Start(psi)!;
        var output = unshare.StandardOutput.ReadToEndAsync(cancellationToken);
        try
        {
            var messages = new List<string>();
            var buffer = new byte[4096];
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(TimeSpan.FromSeconds(60));
            while (!messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)))
            {
                int n;
                try
                {
                    n = await notify.ReceiveAsync(buffer, SocketFlags.None, bounded.Token);
                }
                catch (OperationCanceledException)
                {
                    unshare.Kill(entireProcessTree: true);
                    Assert.Fail($"no READY=1 within 60 s; the node printed:\n{await output}\n{await unshare.StandardError.ReadToEndAsync(CancellationToken.None)}");
                    throw;
                }
                messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }

            // unshare itself ignores SIGTERM while it waits: stop the node, its only child, as systemd would.
            var node = (await File.ReadAllTextAsync($"/proc/{unshare.Id}/task/{unshare.Id}/children", cancellationToken)).Trim();
            Assert.That(await RunAsync("kill", ["-TERM", node]), Is.Zero);
            while (!messages.Any(m => m.Contains("STOPPING=1", StringComparison.Ordinal)))
            {
                int n = await notify.ReceiveAsync(buffer, SocketFlags.None, bounded.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
            Assert.That(messages, Has.Some.Contains("READY=1").And.Some.Contains("STOPPING=1"));
            await unshare.WaitForExitAsync(bounded.Token);
            Assert.That(unshare.ExitCode, Is.Zero, "unshare exits with the node's exit code");
        }
        finally
        {
            if (!unshare.HasExited) unshare.Kill(entireProcessTree: true);
            await unshare.WaitForExitAsync(CancellationToken.None);
        }
        Assert.That(await output, Does.Contain("REST API:"));
    }

    private static async Task<int> RunAsync(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(psi)!;
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(bounded.Token);
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    /// <summary>A body that goes out in 20 pieces spread over <paramref name="over"/>, like a slow client's.</summary>
    private sealed class SlowContent(byte[] data, TimeSpan over) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            int piece = data.Length / 20 + 1;
            for (int at = 0; at < data.Length; at += piece)
            {
                await Task.Delay(over / 20);
                await stream.WriteAsync(data.AsMemory(at, Math.Min(piece, data.Length - at)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }
}
