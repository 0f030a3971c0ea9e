using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Metadata;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace StorageNode;

/// <summary>
/// The REST endpoints (docs/rest-api.md). Bodies stream in both directions; content keys travel only in the
/// <c>X-ZenTalk-Key</c> header; every error is an RFC 9457 problem details JSON body.
/// </summary>
internal static class RestApi
{
    public const string KeyHeader = "X-ZenTalk-Key";
    public const string ExpiresHeader = "X-ZenTalk-Expires";

    public static void Map(WebApplication app, IMeshStore mesh, OwnerKey owner, StorageNodeSettings settings, TimeProvider time)
    {
        var nonces = new NonceCache(time, DeleteSignature.MaxClockSkew);
        var ownerPublicPem = owner.PublicKey.ExportPem();

        app.MapGet("/health", async (CancellationToken ct) =>
        {
            var network = await mesh.GetNetworkAsync(ct).ConfigureAwait(false);
            return Results.Ok(new { status = "ok", nodeId = network.NodeId.ToString(), peers = network.RoutingTableSize });
        });

        app.MapGet("/network", async (CancellationToken ct) =>
        {
            var n = await mesh.GetNetworkAsync(ct).ConfigureAwait(false);
            return Results.Ok(new
            {
                nodeId = n.NodeId.ToString(),
                addresses = n.Addresses,
                routingTableSize = n.RoutingTableSize,
                storedShards = n.StoredShards,
                storedBytes = n.StoredBytes,
                ownerKeyId = owner.PublicKey.Id,
                peers = n.Peers.Select(p => new { id = p.Id.ToString(), endpoint = p.Endpoint, lastSeen = p.LastSeen }),
            });
        });

        app.MapPost("/upload", async (HttpContext context) =>
        {
            var request = context.Request;
            if (request.ContentLength > settings.MaxUploadBytes)
            {
                return Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large",
                    $"The body is {request.ContentLength} bytes; this node accepts at most {settings.MaxUploadBytes}.");
            }
            if (request.ContentLength == 0)
            {
                return Problem(StatusCodes.Status400BadRequest, "Empty upload", "The request body is empty; send the file's bytes as the body.");
            }
            StoreOptions? options = null;
            if (request.Headers.TryGetValue(ExpiresHeader, out var expiresText))
            {
                if (!DateTimeOffset.TryParse(expiresText, System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal, out var expires) || expires <= time.GetUtcNow())
                {
                    return Problem(StatusCodes.Status400BadRequest, "Bad expiry", $"{ExpiresHeader} must be a future ISO 8601 time.");
                }
                options = new StoreOptions { ExpiresAt = expires };
            }
            try
            {
                var stored = await mesh.StoreAsync(request.Body, owner, options, null, context.RequestAborted).ConfigureAwait(false);
                return Results.Json(new { cid = stored.Cid.ToString(), key = stored.ContentKey.ExportBase64Url(), size = stored.Size },
                    statusCode: StatusCodes.Status201Created);
            }
            catch (Exception e) when (FindTooLarge(e))
            {
                return Problem(StatusCodes.Status413PayloadTooLarge, "Upload too large", $"The body exceeded this node's limit of {settings.MaxUploadBytes} bytes.");
            }
            catch (QuotaExceededException e)
            {
                return Problem(StatusCodes.Status507InsufficientStorage, "Mesh quota exceeded", e.Message);
            }
            catch (ShardsUnavailableException e)
            {
                return Problem(StatusCodes.Status503ServiceUnavailable, "Too few peers", e.Message);
            }
        }).WithMetadata(new RequestSizeLimitAttributeShim(settings.MaxUploadBytes));

        app.MapGet("/download/{cid}", async (string cid, HttpContext context) =>
        {
            if (!Cid.TryParse(cid, out var parsed))
            {
                return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", "The CID must be 'zt' followed by 55 lower-case base32 characters.");
            }
            if (!context.Request.Headers.TryGetValue(KeyHeader, out var keyText) || string.IsNullOrEmpty(keyText))
            {
                return Problem(StatusCodes.Status400BadRequest, "Missing key", $"Send the content key in the {KeyHeader} header (never in the URL).");
            }
            ContentKey key;
            try
            {
                key = ContentKey.ImportBase64Url(keyText.ToString());
            }
            catch (FormatException e)
            {
                return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed key", e.Message);
            }
            Stream content;
            var first = new byte[81920];
            int firstLength;
            try
            {
                content = await mesh.RetrieveAsync(parsed, key, context.RequestAborted).ConfigureAwait(false);
                // The first read authenticates the first segment: a wrong key is answered with 403 before any
                // status line is sent, instead of a 200 that breaks off.
                firstLength = await content.ReadAsync(first, context.RequestAborted).ConfigureAwait(false);
            }
            catch (ShardsUnavailableException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
            catch (IntegrityException)
            {
                return Problem(StatusCodes.Status403Forbidden, "Wrong key", "The content key does not open this file.");
            }
            return new StreamedFile(content, first, firstLength);
        });

        app.MapGet("/status/{cid}", async (string cid, CancellationToken ct) =>
        {
            if (!Cid.TryParse(cid, out var parsed))
            {
                return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", "The CID must be 'zt' followed by 55 lower-case base32 characters.");
            }
            try
            {
                var s = await mesh.GetStatusAsync(parsed, ct).ConfigureAwait(false);
                return Results.Ok(new
                {
                    cid = s.Cid.ToString(),
                    size = s.Size,
                    health = s.Health.ToString(),
                    segments = s.Segments.Select(g => new
                    {
                        index = g.Index,
                        shardsExpected = g.ShardsExpected,
                        shardsFound = g.ShardsFound,
                        shardsVerified = g.ShardsVerified,
                        missingShards = g.MissingShards,
                        health = g.Health.ToString(),
                        holders = g.Holders.Select(h => new { shard = h.ShardIndex, node = h.Node.ToString(), endpoint = h.Endpoint }),
                    }),
                });
            }
            catch (ShardsUnavailableException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
        });

        app.MapDelete("/delete/{cid}", async (string cid, HttpContext context) =>
        {
            if (!Cid.TryParse(cid, out var parsed))
            {
                return Problem(StatusCodes.Status422UnprocessableEntity, "Malformed CID", "The CID must be 'zt' followed by 55 lower-case base32 characters.");
            }
            var headers = context.Request.Headers;
            var timestampText = headers[DeleteSignature.TimestampHeader].ToString();
            var nonce = headers[DeleteSignature.NonceHeader].ToString();
            var signatureText = headers[DeleteSignature.SignatureHeader].ToString();
            if (timestampText.Length == 0 || nonce.Length == 0 || signatureText.Length == 0)
            {
                context.Response.Headers.WWWAuthenticate = "ZenTalk-Signature";
                return Problem(StatusCodes.Status401Unauthorized, "Signature required",
                    $"A delete must be signed by the owner key: send {DeleteSignature.TimestampHeader}, {DeleteSignature.NonceHeader} and {DeleteSignature.SignatureHeader} (docs/rest-api.md).");
            }
            if (!long.TryParse(timestampText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var timestamp)
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
            var skew = time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(timestamp, -62135596800L, 253402300799L));
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
            catch (ShardsUnavailableException e)
            {
                return Problem(StatusCodes.Status404NotFound, "File not found", e.Message);
            }
        });
    }

    public static IResult Problem(int status, string title, string detail) =>
        Results.Problem(statusCode: status, title: title, detail: detail);

    private static bool FindTooLarge(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Writes the already-read first chunk, then streams the rest; a failure mid-stream aborts the
    /// connection so the client sees an error, never a silently short file.</summary>
    private sealed class StreamedFile(Stream content, byte[] first, int firstLength) : IResult
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
                    if (firstLength > 0)
                    {
                        await content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is MeshStorageException or IOException)
                {
                    context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("StorageNode.Download")
                        .LogWarning(e, "Download broke off; aborting the response");
                    context.Abort();
                }
            }
        }
    }

    /// <summary>Marks /upload with its own body limit (the server-wide one stays small for every other request).</summary>
    private sealed class RequestSizeLimitAttributeShim(long bytes) : IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => bytes;
    }
}
