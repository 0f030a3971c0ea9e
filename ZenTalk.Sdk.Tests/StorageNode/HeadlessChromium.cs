using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>
/// Debian's chromium, headless, driven over the Chrome DevTools protocol on its local websocket (the BCL's
/// <see cref="ClientWebSocket"/>; no driver package). One page, opened at the URL it was started with; a fresh profile
/// directory that is removed at the end; nothing but the page's own requests leaves it (background networking,
/// component updates, sync and QUIC are off).
/// </summary>
internal sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _calls = new();
    private readonly CancellationTokenSource _closing = new();
    private Task _reader = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Events the browser sent (method and params), in order.</summary>
    public ConcurrentQueue<(string Method, JsonNode? Params)> Events { get; } = new();

    /// <summary>The chromium executable, or null when none is installed.</summary>
    public static string? FindExecutable() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    public static async Task<HeadlessChromium> StartAsync(string executable, Uri url, CancellationToken cancellationToken)
    {
        var profile = Directory.CreateTempSubdirectory("zentalk-chromium-").FullName;
        var psi = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
                     $"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                     "--window-size=1200,1100", url.ToString(),
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium writes the port it chose into the profile: "port\n/devtools/browser/<id>".
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!File.Exists(portFile) || (await File.ReadAllLinesAsync(portFile, cancellationToken)).Length < 2)
            {
                if (process.HasExited) throw new InvalidOperationException($"chromium exited with code {process.ExitCode} before it listened");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium did not write DevToolsActivePort within 30 s");
                await Task.Delay(100, cancellationToken);
            }
            var port = (await File.ReadAllLinesAsync(portFile, cancellationToken))[0].Trim();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            string? pageSocket = null;
            while (pageSocket is null)
            {
                var targets = JsonNode.Parse(await http.GetStringAsync("json/list", cancellationToken))!.AsArray();
                pageSocket = targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                if (pageSocket is null)
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("chromium opened no page within 30 s");
                    await Task.Delay(100, cancellationToken);
                }
            }
            await browser._socket.ConnectAsync(new Uri(pageSocket), cancellationToken);
            browser._reader = browser.ReadAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends one DevTools command and waits (at most 30 s) for its result.</summary>
    public async Task<JsonNode> CallAsync(string method, object? parameters = null, CancellationToken cancellationToken = default)
    {
        int id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = answer;
        var message = JsonSerializer.SerializeToUtf8Bytes(new { id, method, @params = parameters ?? new { } });
        await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        var result = await answer.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return result["error"] is { } error ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}") : result["result"]!;
    }

    /// <summary>Evaluates a script expression in the page; returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true }, cancellationToken);
        if (result["exceptionDetails"] is { } failure) throw new InvalidOperationException($"{expression}: {failure.ToJsonString()}");
        return result["result"]!["value"];
    }

    /// <summary>Polls <paramref name="expression"/> until it is true (at most <paramref name="timeout"/>).</summary>
    public async Task WaitForAsync(string expression, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await EvaluateAsync(expression, cancellationToken))?.GetValue<bool>() != true)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{expression}' was not true within {timeout}");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>A PNG of the whole page.</summary>
    public async Task<byte[]> ScreenshotAsync(CancellationToken cancellationToken = default)
    {
        var shot = await CallAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true }, cancellationToken);
        return Convert.FromBase64String(shot["data"]!.GetValue<string>());
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _closing.Token);
                if (received.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage) continue;
                var node = JsonNode.Parse(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length))!;
                message.SetLength(0);
                if (node["id"] is { } id && _calls.TryRemove(id.GetValue<int>(), out var call)) call.TrySetResult(node);
                else if (node["method"] is { } method) Events.Enqueue((method.GetValue<string>(), node["params"]));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
        }
        foreach (var call in _calls.Values) call.TrySetException(new InvalidOperationException("the DevTools connection closed"));
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        try
        {
            await _reader;
        }
        finally
        {
            _socket.Dispose();
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
            _process.Dispose();
            _closing.Dispose();
            for (int i = 0; i < 10; i++)
            {
                try
                {
                    Directory.Delete(_profile, recursive: true);
                    break;
                }
                catch (IOException)
                {
                    await Task.Delay(200);
                }
            }
        }
    }
}
