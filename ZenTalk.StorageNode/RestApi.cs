using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using ZenTalk.MeshStorage;

namespace ZenTalk.StorageNode;

/// <summary>
/// The REST endpoints (docs/rest-api.md). Bodies stream in both directions; content keys travel only in the
/// <c>X-ZenTalk-Key</c> header; every error is an RFC 9457 problem details body with a detail. 404 means the file is
/// not in the mesh (unknown, expired or deleted); 503 means it exists but cannot be served now, or the node is busy.
/// </summary>
internal static class RestApi
{
    public const string KeyHeader = "X-ZenTalk-Key";
    public const string ExpiresHeader = "X-ZenTalk-Expires";

    /// <summary>What a client should wait before retrying a 503 for unreachable holders, in seconds.</summary>
    private const int UnavailableRetrySeconds = 30;

    private const string MalformedCid = "The CID must be 'zt' followed by 55 lower-case base32 characters, as POST /upload returned it.";

    public static readonly string Version = typeof(RestApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0";

    public static void Map(WebApplication app, NodeState state)
    {
        var mesh = state.Node.Store;
        var owner = state.Keys.Owner;
        var settings = state.Settings;
        var nonces = new NonceCache(state.Time, DeleteSignature.MaxClockSkew);
        var ownerPublicPem = owner.PublicKey.ExportPem();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ZenTalk.StorageNode.RestApi");

        app.MapGet("/health", () => Results.Ok(new HealthResponse("ok", state.Node.Id.ToString())))
            .WithSummary("Liveness: the process answers.").Produces<HealthResponse>();

        app.MapGet("/ready", () =>
        {
            var (ready, why) = state.Readiness();
            return ready
                ? Results.Ok(new ReadyResponse("ready", state.Node.Network.Dht.Table.Count))
                : Problem(StatusCodes.Status503ServiceUnavailable, "Not ready", why);
        }).WithSummary("Readiness: the routing table has peers and the stores are open.")
            .Produces<ReadyResponse>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/node", () => Results.Ok(Describe(state)))
            .WithSummary("Everything the status page shows: peers, disk used and quota, shards, files, the last repair pass, recent errors.")
            .Produces<NodeResponse>();

        app.MapGet("/network", async (CancellationToken ct) =>
        {
            var n = await mesh.GetNetworkAsync(ct).ConfigureAwait(false);
            return Results.Ok(new NetworkResponse(n.NodeId.ToString(), n.Addresses, state.Node.BootstrapAddress, n.RoutingTableSize,
                n.StoredShards, n.StoredBytes, owner.PublicKey.Id,
                n.Peers.Select(p => new PeerResponse(p.Id.ToString(), p.Endpoint, p.LastSeen)).ToList()));
        }).WithSummary("The node's view of the mesh: id, addresses, routing table, stored shards, owner key id.").Produces<NetworkResponse>();

        app.MapPost("/upload", async ([FromHeader(Name = ExpiresHeader)] string? expiresText, HttpContext context) =>
        {
            var request = context.Request;
            if (request.ContentLength > settings.MaxUploadBytes)
            {
                return Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
                    $"The body is {request.ContentLength} bytes; this node accepts at most {settings.MaxUploadBytes} (Api:MaxUploadBytes).");
            }
            StoreOptions? options = null;
            if (expiresText is not null)
            {
                if (!DateTimeOffset.TryParse(expiresText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires)
                    || expires <= state.Time.GetUtcNow())
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad expiry", $"{ExpiresHeader} must be a future ISO 8601 time, such as 2030-01-01T00:00:00Z.");
                }
                options = new StoreOptions { ExpiresAt = expires };
            }
            try
            {
                // An empty body is refused however it was sent: Content-Length: 0, no length at all, or chunked with
                // no data. The first read tells (and leaves what it saw for the store to read).
                var peek = await request.BodyReader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                bool empty = peek.Buffer.IsEmpty && peek.IsCompleted;
                request.BodyReader.AdvanceTo(peek.Buffer.Start);
                if (empty)
                {
                    return Problem(StatusCodes.Status400BadRequest, "Empty upload",
                        "The request body is empty; send the file's bytes as the body (curl --data-binary @file).");
                }

                using var slot = await AcquireAsync(state, context).ConfigureAwait(false);
                if (slot is null) return Busy(context, state.Budget);
                var stored = await mesh.StoreAsync(request.Body, owner, options, null, context.RequestAborted).ConfigureAwait(false);
                NodeMetrics.Uploads.Add(1);
                return Results.Json(new UploadResponse(stored.Cid.ToString(), stored.ContentKey.ExportBase64Url(), stored.Size),
                    statusCode: StatusCodes.Status201Created);
            }
            catch (Exception e) when (FindTooLarge(e))
            {
                return Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
                    $"The body exceeded this node's limit of {settings.MaxUploadBytes} bytes (Api:MaxUploadBytes).");
            }
            catch (BadHttpRequestException e)
            {
                // The client broke off or sent less than it declared: nothing was stored.
                return Problem(e.StatusCode, "Bad upload body", e.Message);
            }
            catch (OperationCanceledException) when (state.Stopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                return Stopping(context);
            }
            catch (QuotaExceededException e)
            {
                return Problem(StatusCodes.Status507InsufficientStorage, "Mesh quota exceeded", e.Message);
            }
            catch (ShardsUnavailableException e)
            {
                log.UploadRefused(e.Message);
                return Unavailable(context, "Too few peers", e.Message);
            }
        }).WithMetadata(new RequestSizeLimit(settings.MaxUploadBytes))
            .WithSummary("Stores the body in the mesh under the node's owner key. Needs the API token.")
            // Any Content-Type is taken (curl --data-binary sends a form type): the body is described, not matched.
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "The file's bytes.",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/octet-stream"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                    },
                };
                return Task.CompletedTask;
            })
            .Produces<UploadResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage);

        app.MapGet("/download/{cid}", async (string cid, [FromHeader(Name = KeyHeader)] string? keyText, HttpContext context) =>
        {
            if (!Cid.TryParse(cid, out var parsed)) return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", MalformedCid);
            if (string.IsNullOrEmpty(keyText))
            {
                return Problem(StatusCodes.Status400BadRequest, "Missing key", $"Send the content key in the {KeyHeader} header (never in the URL).");
            }
            ContentKey key;
            try
            {
                key = ContentKey.ImportBase64Url(keyText);
            }
            catch (FormatException e)
            {
                return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed key", e.Message);
            }

            IDisposable? slot;
            try
            {
                slot = await AcquireAsync(state, context).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (state.Stopping.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                return Stopping(context);
            }
            if (slot is null) return Busy(context, state.Budget);
            // Held until the response has been written to its end (or aborted).
            context.Response.RegisterForDispose(slot);
            Stream content;
            var first = new byte[81920];
            int firstLength;
            try
            {
                content = await mesh.RetrieveAsync(parsed, key, context.RequestAborted).ConfigureAwait(false);
                // The first read authenticates the first segment: a wrong key is answered with 403, and unreachable
                // holders with 503, before any status line is sent, instead of a 200 that breaks off.
                firstLength = await content.ReadAsync(first, context.RequestAborted).ConfigureAwait(false);
            }
            catch (MeshFileNotFoundException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
            catch (ShardsUnavailableException e)
            {
                log.DownloadUnavailable(cid, e.Message);
                return Unavailable(context, "File unavailable", $"The file exists, but it cannot be read now: {e.Message}");
            }
            catch (IntegrityException)
            {
                return Problem(StatusCodes.Status403Forbidden, "Wrong key", "The content key does not open this file.");
            }
            NodeMetrics.Downloads.Add(1);
            return new StreamedFile(content, first, firstLength, log);
        }).WithSummary("Streams the file back; the content key goes in the X-ZenTalk-Key header.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapGet("/status/{cid}", async (string cid, HttpContext context) =>
        {
            if (!Cid.TryParse(cid, out var parsed)) return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", MalformedCid);
            try
            {
                var s = await mesh.GetStatusAsync(parsed, context.RequestAborted).ConfigureAwait(false);
                return Results.Ok(new FileStatusResponse(s.Cid.ToString(), s.Size, s.Health.ToString(), s.Segments.Select(g => new SegmentResponse(
                    g.Index, g.ShardsExpected, g.ShardsFound, g.ShardsVerified, g.MissingShards, g.Health.ToString(),
                    g.Holders.Select(h => new HolderResponse(h.ShardIndex, h.Node.ToString(), h.Endpoint)).ToList())).ToList()));
            }
            catch (MeshFileNotFoundException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
            catch (ShardsUnavailableException e)
            {
                return Unavailable(context, "Mesh unreachable", e.Message);
            }
        }).WithSummary("Per-segment placement and health, without the key.")
            .Produces<FileStatusResponse>().ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        app.MapDelete("/delete/{cid}", async (string cid, HttpContext context,
            [FromHeader(Name = DeleteSignature.TimestampHeader)] string? timestampText,
            [FromHeader(Name = DeleteSignature.NonceHeader)] string? nonce,
            [FromHeader(Name = DeleteSignature.SignatureHeader)] string? signatureText) =>
        {
            if (!Cid.TryParse(cid, out var parsed)) return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", MalformedCid);
            if (string.IsNullOrEmpty(timestampText) || string.IsNullOrEmpty(nonce) || string.IsNullOrEmpty(signatureText))
            {
                context.Response.Headers.WWWAuthenticate = "ZenTalk-Signature";
                return Problem(StatusCodes.Status401Unauthorized, "Signature required",
                    $"A delete must be signed by the owner key: send {DeleteSignature.TimestampHeader}, {DeleteSignature.NonceHeader} and {DeleteSignature.SignatureHeader} (docs/rest-api.md).");
            }
            if (!long.TryParse(timestampText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var timestamp)
                || !DeleteSignature.IsWellFormedNonce(nonce))
            {
                return Problem(StatusCodes.Status400BadRequest, "Malformed signature headers",
                    $"{DeleteSignature.TimestampHeader} is Unix seconds; {DeleteSignature.NonceHeader} is 16 to 64 base64url characters.");
            }
            byte[] signature;
            try
            {
                signature = Convert.FromBase64String(signatureText);
            }
            catch (FormatException)
            {
                return Problem(StatusCodes.Status400BadRequest, "Malformed signature", $"{DeleteSignature.SignatureHeader} must be standard base64.");
            }
            var skew = state.Time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(timestamp, -62135596800L, 253402300799L));
            if (skew.Duration() > DeleteSignature.MaxClockSkew)
            {
                return Problem(StatusCodes.Status403Forbidden, "Stale signature", "The signed timestamp is more than 5 minutes away from the node's clock.");
            }
            using (var rsa = RSA.Create())
            {
                rsa.ImportFromPem(ownerPublicPem);
                var canonical = DeleteSignature.CanonicalRequest("DELETE", $"/delete/{cid}", timestamp, nonce);
                if (!rsa.VerifyData(canonical, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss))
                {
                    return Problem(StatusCodes.Status403Forbidden, "Bad signature", "The signature is not the node owner's signature of this request.");
                }
            }
            if (!nonces.TryUse(nonce))
            {
                return Problem(StatusCodes.Status403Forbidden, "Replayed request", "This signed request was already used; sign a new one with a fresh nonce.");
            }
            try
            {
                await mesh.DeleteAsync(parsed, owner, context.RequestAborted).ConfigureAwait(false);
                return Results.NoContent();
            }
            catch (UnauthorizedOperationException e)
            {
                return Problem(StatusCodes.Status403Forbidden, "Not the owner", e.Message);
            }
            catch (MeshFileNotFoundException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
            catch (MeshStorageException e)
            {
                return Unavailable(context, "Mesh unreachable", e.Message);
            }
        }).WithSummary("Deletes the file everywhere; needs the API token and the owner key's signature of the request.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    public static NodeResponse Describe(NodeState state)
    {
        var stats = state.Stats();
        var repair = state.LastRepair is { } last
            ? new RepairResponse(last.At, last.Report.FilesChecked, last.Report.ShardsRepaired, last.Report.ShardsDropped,
                last.Report.SegmentsLost, last.Report.SegmentsUnreachable)
            : null;
        var budget = state.Budget;
        return new NodeResponse(state.Node.Id.ToString(), Version, state.StartedAt, state.Node.Endpoint, state.Node.BootstrapAddress,
            state.Node.Network.Dht.Table.Count, stats.ShardCount, stats.StoredBytes, state.QuotaBytes, state.FileCount, repair,
            state.Errors.Snapshot().Select(e => new LogEntryResponse(e.At, e.Level, e.Category, e.Message)).ToList(),
            new TransfersResponse(budget.InFlight, budget.Waiting, budget.Slots, budget.BudgetBytes, budget.BytesPerTransfer),
            state.Readiness().Ready);
    }

    public static IResult Problem(int status, string title, string detail) =>
        Results.Problem(statusCode: status, title: title, detail: detail);

    /// <summary>503 for a file or mesh that cannot be reached now: retrying later may work.</summary>
    private static IResult Unavailable(HttpContext context, string title, string detail)
    {
        context.Response.Headers.RetryAfter = UnavailableRetrySeconds.ToString(CultureInfo.InvariantCulture);
        return Problem(StatusCodes.Status503ServiceUnavailable, title, detail);
    }

    /// <summary>A transfer slot; a request still waiting when the node stops gives up (503), so the stop is not held up.</summary>
    private static async Task<IDisposable?> AcquireAsync(NodeState state, HttpContext context)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, state.Stopping);
        return await state.Budget.AcquireAsync(either.Token).ConfigureAwait(false);
    }

    private static IResult Stopping(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "10";
        return Problem(StatusCodes.Status503ServiceUnavailable, "Node stopping", "The node is stopping; retry in a few seconds, here or at another node.");
    }

    /// <summary>503 for a full transfer budget: the node is busy, a retry in a few seconds should get a slot.</summary>
    private static IResult Busy(HttpContext context, TransferBudget budget)
    {
        context.Response.Headers.RetryAfter = "5";
        return Problem(StatusCodes.Status503ServiceUnavailable, "Node busy",
            $"All {budget.Slots} transfer slots of the memory budget ({budget.BudgetBytes >> 20} MiB, Transfers:MemoryBudgetBytes) stayed taken for {budget.QueueTimeout.TotalSeconds:0} s; retry after 5 s.");
    }

    private static bool FindTooLarge(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }) return true;
        }
        return false;
    }

    /// <summary>Writes the already-read first chunk, then streams the rest; a failure mid-stream aborts the
    /// connection so the client sees an error, never a silently short file.</summary>
    private sealed class StreamedFile(Stream content, byte[] first, int firstLength, ILogger log) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            await using (content.ConfigureAwait(false))
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/octet-stream";
                context.Response.Headers.CacheControl = "no-store";
                try
                {
                    await context.Response.Body.WriteAsync(first.AsMemory(0, firstLength), context.RequestAborted).ConfigureAwait(false);
                    if (firstLength > 0) await content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception e) when (e is MeshStorageException or IOException)
                {
                    log.DownloadBrokeOff(e.Message);
                    context.Abort();
                }
            }
        }
    }

    /// <summary>Marks /upload with its own body limit (the server-wide one stays small for every other request).</summary>
    private sealed class RequestSizeLimit(long bytes) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => bytes;
    }
}
