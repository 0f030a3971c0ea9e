using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage;

namespace ZenTalk.Testnet.Hosts;

/// <summary>
/// The control channel of a node or client process: one JSON object per line on standard input (<c>{"id":1,"op":"..."}</c>),
/// one answer per line on standard output with the same id (<c>"ok":true</c> and the result, or <c>"ok":false</c> and the
/// error's type and message). Requests run concurrently. The coordinator is the only writer of standard input; when it
/// closes (the coordinator stopped or died), <see cref="RunAsync"/> returns and the process stops.
/// </summary>
internal static class StdioServer
{
    private static readonly Lock OutputLock = new();

    /// <summary>Writes one line (the ready line, an answer) to standard output.</summary>
    public static void Send(JsonObject message)
    {
        var line = message.ToJsonString();
        lock (OutputLock)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    /// <summary>Serves requests until standard input closes or <paramref name="stop"/> is cancelled.</summary>
    public static async Task RunAsync(Func<JsonObject, CancellationToken, Task<JsonObject>> handle, CancellationToken stop)
    {
        var running = new List<Task>();
        using var input = Console.OpenStandardInput();
        using var reader = new StreamReader(input);
        try
        {
            // A read of a pipe does not see the token: wait for the line or the stop, whichever comes first.
            while (await reader.ReadLineAsync(CancellationToken.None).AsTask().WaitAsync(stop) is { } line)
            {
                if (line.Length == 0) continue;
                var request = JsonNode.Parse(line)!.AsObject();
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(() => AnswerAsync(handle, request, stop), CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Asked to stop (SIGTERM).
        }
        await Task.WhenAll(running);
    }

    private static async Task AnswerAsync(Func<JsonObject, CancellationToken, Task<JsonObject>> handle, JsonObject request, CancellationToken stop)
    {
        JsonObject answer;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            answer = await handle(request, stop);
            answer["ok"] = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            answer = new JsonObject { ["ok"] = false, ["error"] = e.GetType().Name, ["message"] = e.Message };
        }
        catch (OperationCanceledException)
        {
            return;
        }
        answer["id"] = request["id"]?.DeepClone();
        // Failures too say how long they took (a timeout and a refusal look different).
        answer["ms"] ??= System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Send(answer);
    }

    /// <summary>
    /// The life of a host process: starts its <see cref="MeshNode"/> with the options made from its arguments (logging
    /// to standard error at --log, default Warning), prints the ready line, serves requests until SIGTERM or until
    /// standard input closes, then stops the node cleanly.
    /// </summary>
    public static async Task<int> HostAsync(string[] args, Func<HostArguments, MeshNodeOptions> options, Func<MeshNode, JsonObject> ready,
        Func<MeshNode, MeshCounters, Func<JsonObject, CancellationToken, Task<JsonObject>>> handler)
    {
        var a = new HostArguments(args);
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        using var logs = new StderrLoggerFactory(Enum.Parse<LogLevel>(a.Get("log") ?? "Warning", ignoreCase: true));
        using var counters = new MeshCounters();
        var nodeOptions = options(a);
        nodeOptions.LoggerFactory = logs;
        await using var node = await MeshNode.StartAsync(nodeOptions, stop.Token);
        var line = ready(node);
        line["ready"] = true;
        Send(line);
        await RunAsync(handler(node, counters), stop.Token);
        await node.StopAsync(CancellationToken.None);
        return 0;
    }

    /// <summary>A required string field of a request.</summary>
    public static string Text(this JsonObject request, string name) =>
        request[name]?.GetValue<string>() ?? throw new JsonException($"the request has no '{name}'");

    /// <summary>A required integer field of a request.</summary>
    public static long Number(this JsonObject request, string name) =>
        request[name]?.GetValue<long>() ?? throw new JsonException($"the request has no '{name}'");
}
