using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.StorageNode;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using static ZenTalk.Sdk.Tests.StorageNode.NodeApi;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>
/// The storage node's REST API over real HTTP on 127.0.0.1: every endpoint and every error status. Two zentalk-node
/// processes join one 14-node loopback mesh: the main one (64 MiB upload limit) and a small one (1 MiB limit, its
/// own owner key).
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public class RestApiTests
{
    private string _dir = null!;
    private LocalMesh _mesh = null!;
    private StorageNodeProcess _host = null!;
    private StorageNodeProcess _small = null!;
    private OwnerKey _owner = null!;
    private string _ownerPem = null!;
    private HttpClient _http = null!;
    private HttpClient _smallHttp = null!;

    [OneTimeSetUp]
    public async Task StartNodes()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"zentalk-rest-{Guid.NewGuid():N}");
        _mesh = await LocalMesh.StartAsync(14, MeshTestData.FastOptions(segmentSize: 1024 * 1024));
        var bootstrap = string.Join(',', _mesh.Nodes.Select(n => n.BootstrapAddress));
        var main = StorageNodeProcess.StartAsync(Path.Combine(_dir, "main"), ["--bootstrap", bootstrap, "--max-upload-bytes", (64L << 20).ToString()]);
        var small = StorageNodeProcess.StartAsync(Path.Combine(_dir, "small"), ["--bootstrap", bootstrap, "--max-upload-bytes", (1L << 20).ToString()]);
        _host = await main;
        _small = await small;
        _ownerPem = await File.ReadAllTextAsync(_host.OwnerKeyPath);
        _owner = OwnerKey.ImportPem(_ownerPem);
        _http = _host.CreateClient();
        _smallHttp = _small.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopNodes()
    {
        _http?.Dispose();
        _smallHttp?.Dispose();
        _owner?.Dispose();
        if (_small is not null) await _small.DisposeAsync();
        if (_host is not null) await _host.DisposeAsync();
        if (_mesh is not null) await _mesh.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public void The_api_listens_on_loopback_only_by_default()
    {
        // Started without --http-address: the node reports (and binds) 127.0.0.1.
        Assert.That(IPAddress.Parse(_host.HttpAddress.Host), Is.EqualTo(IPAddress.Loopback));
    }

    [Test]
    public async Task Health_answers_ok_with_the_node_id(CancellationToken cancellationToken)
    {
        var health = await _http.GetFromJsonAsync<JsonElement>("health", cancellationToken: cancellationToken);
        var network = await _http.GetFromJsonAsync<JsonElement>("network", cancellationToken: cancellationToken);
        Assert.That(health.GetProperty("status").GetString(), Is.EqualTo("ok"));
        Assert.That(health.GetProperty("nodeId").GetString(), Has.Length.EqualTo(64).And.EqualTo(network.GetProperty("nodeId").GetString()));
    }

    [Test]
    public async Task Network_lists_the_peers_and_the_owner_key(CancellationToken cancellationToken)
    {
        var network = await _http.GetFromJsonAsync<JsonElement>("network", cancellationToken: cancellationToken);
        Assert.That(network.GetProperty("nodeId").GetString(), Is.Not.EqualTo((await _smallHttp.GetFromJsonAsync<JsonElement>("network", cancellationToken: cancellationToken)).GetProperty("nodeId").GetString()));
        Assert.That(network.GetProperty("routingTableSize").GetInt32(), Is.GreaterThanOrEqualTo(10));
        Assert.That(network.GetProperty("peers").GetArrayLength(), Is.GreaterThanOrEqualTo(10));
        Assert.That(network.GetProperty("ownerKeyId").GetString(), Is.EqualTo(_owner.PublicKey.Id));
    }

    [Test]
    public async Task A_50_MB_upload_streams_in_and_downloads_byte_for_byte(CancellationToken cancellationToken)
    {
        const long size = 50L * 1024 * 1024;
        using var source = new GeneratedStream(size, 50);
        using var content = new StreamContent(source, 256 * 1024); // no length: the body goes out chunked
        using var upload = await _http.PostAsync("upload", content, cancellationToken);
        Assert.That(upload.StatusCode, Is.EqualTo(HttpStatusCode.Created), await upload.Content.ReadAsStringAsync(cancellationToken));
        var file = await upload.Content.ReadFromJsonAsync<JsonElement>(cancellationToken: cancellationToken);
        Assert.That(file.GetProperty("size").GetInt64(), Is.EqualTo(size));

        using var request = Download(file.GetProperty("cid").GetString()!, file.GetProperty("key").GetString()!);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/octet-stream"));
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }
        Assert.That(total, Is.EqualTo(size));
        Assert.That(hash.GetHashAndReset(), Is.EqualTo(source.Sha256()));
    }

    [Test]
    public async Task An_empty_upload_is_a_400_problem(CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync("upload", new ByteArrayContent([]), cancellationToken);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task An_upload_over_the_limit_is_a_413_problem_with_or_without_a_declared_length(CancellationToken cancellationToken)
    {
        using var declared = new HttpRequestMessage(HttpMethod.Post, "upload") { Content = new ByteArrayContent(new byte[(1 << 20) + 1]) };
        declared.Headers.ExpectContinue = true;
        using (var response = await _smallHttp.SendAsync(declared, cancellationToken))
        {
            await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        }

        // Without a declared length the limit is found while reading: the node answers 413 and closes the
        // connection, so a client still sending may see the close before it reads the answer.
        using var chunked = new StreamContent(new GeneratedStream(3L << 20, 1));
        try
        {
            using var response = await _smallHttp.PostAsync("upload", chunked, cancellationToken);
            await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        }
        catch (HttpRequestException e) when (e.InnerException is IOException)
        {
        }

        using var within = await _smallHttp.PostAsync("upload", new ByteArrayContent(new byte[1 << 20]), cancellationToken);
        Assert.That(within.StatusCode, Is.EqualTo(HttpStatusCode.Created), "exactly at the limit is accepted");
    }

    [Test]
    public async Task Download_errors_are_problem_details_with_the_right_status(CancellationToken cancellationToken)
    {
        var (cid, key) = await UploadAsync(RandomNumberGenerator.GetBytes(10_000));
        var unknownCid = (await _mesh.Nodes[0].Store.StoreAsync(new MemoryStream([9]), _owner, cancellationToken: cancellationToken)).Cid.ToString();
        await _mesh.Nodes[0].Store.DeleteAsync(ZenTalk.MeshStorage.Cid.Parse(unknownCid), _owner, cancellationToken);

        using (var noKey = await _http.GetAsync($"download/{cid}", cancellationToken))
        {
            await AssertProblemAsync(noKey, HttpStatusCode.BadRequest);
        }
        using (var keyInUrl = await _http.GetAsync($"download/{cid}?key={key}", cancellationToken))
        {
            await AssertProblemAsync(keyInUrl, HttpStatusCode.BadRequest); // the URL is never read for keys
        }
        using (var malformedKey = await _http.SendAsync(Download(cid, "not-a-key"), cancellationToken))
        {
            await AssertProblemAsync(malformedKey, HttpStatusCode.UnprocessableEntity);
        }
        using (var malformedCid = await _http.SendAsync(Download("zt-not-a-cid", key), cancellationToken))
        {
            await AssertProblemAsync(malformedCid, HttpStatusCode.UnprocessableEntity);
        }
        using (var unknown = await _http.SendAsync(Download(unknownCid, key), cancellationToken))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        }
        using (var wrongKey = await _http.SendAsync(Download(cid, ContentKey.Generate().ExportBase64Url()), cancellationToken))
        {
            await AssertProblemAsync(wrongKey, HttpStatusCode.Forbidden);
        }
    }

    [Test]
    public async Task Status_reports_every_segment_and_its_holders(CancellationToken cancellationToken)
    {
        var (cid, _) = await UploadAsync(RandomNumberGenerator.GetBytes((3 << 20) + 5));
        var status = await _http.GetFromJsonAsync<JsonElement>($"status/{cid}", cancellationToken: cancellationToken);
        Assert.That(status.GetProperty("cid").GetString(), Is.EqualTo(cid));
        Assert.That(status.GetProperty("size").GetInt64(), Is.EqualTo((3 << 20) + 5));
        Assert.That(status.GetProperty("health").GetString(), Is.EqualTo("Excellent").Or.EqualTo("Degraded"));
        var segments = status.GetProperty("segments");
        Assert.That(segments.GetArrayLength(), Is.EqualTo(4));
        foreach (var segment in segments.EnumerateArray())
        {
            // At least the store's "happy" threshold (11 of 15); identical tiny shards may sit on several nodes.
            Assert.That(segment.GetProperty("shardsVerified").GetInt32(), Is.InRange(11, 15));
            var shards = segment.GetProperty("holders").EnumerateArray().Select(h => h.GetProperty("shard").GetInt32()).Distinct().Count();
            Assert.That(shards, Is.EqualTo(segment.GetProperty("shardsFound").GetInt32()));
        }

        using (var malformed = await _http.GetAsync("status/ZT123", cancellationToken))
        {
            await AssertProblemAsync(malformed, HttpStatusCode.UnprocessableEntity);
        }
        var gone = await UploadAsync([1, 2, 3]);
        await _mesh.Nodes[3].Store.DeleteAsync(ZenTalk.MeshStorage.Cid.Parse(gone.Cid), _owner, cancellationToken);
        using (var unknown = await _http.GetAsync($"status/{gone.Cid}", cancellationToken))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        }
    }

    [Test]
    public async Task A_delete_without_a_signature_is_refused_with_401(CancellationToken cancellationToken)
    {
        var (cid, key) = await UploadAsync([1, 2, 3, 4]);
        using var response = await _http.DeleteAsync($"delete/{cid}", cancellationToken);
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("ZenTalk-Signature"));
        await AssertDownloadsAsync(cid, key, [1, 2, 3, 4]);
    }

    [Test]
    public async Task Forged_tampered_stale_and_malformed_delete_signatures_are_refused(CancellationToken cancellationToken)
    {
        var (cid, key) = await UploadAsync([5, 6, 7]);
        var (otherCid, _) = await UploadAsync([8]);
        using var stranger = OwnerKey.Generate(2048);
        var ownerPem = _ownerPem;

        // Signed by a key that is not the node's owner key.
        using (var forged = await _http.SendAsync(SignedDelete(cid, DeleteSignature.Sign(stranger.ExportPrivateKeyPem(), cid, DateTimeOffset.UtcNow)), cancellationToken))
        {
            await AssertProblemAsync(forged, HttpStatusCode.Forbidden);
        }
        // The owner's signature of a different request (another CID) replayed against this one.
        using (var tampered = await _http.SendAsync(SignedDelete(cid, DeleteSignature.Sign(ownerPem, otherCid, DateTimeOffset.UtcNow)), cancellationToken))
        {
            await AssertProblemAsync(tampered, HttpStatusCode.Forbidden);
        }
        // A genuine signature, but ten minutes old.
        using (var stale = await _http.SendAsync(SignedDelete(cid, DeleteSignature.Sign(ownerPem, cid, DateTimeOffset.UtcNow.AddMinutes(-10))), cancellationToken))
        {
            await AssertProblemAsync(stale, HttpStatusCode.Forbidden);
        }
        using (var malformed = await _http.SendAsync(SignedDelete(cid, ("yesterday", "short", "!!")), cancellationToken))
        {
            await AssertProblemAsync(malformed, HttpStatusCode.BadRequest);
        }
        await AssertDownloadsAsync(cid, key, [5, 6, 7]);
    }

    [Test]
    public async Task A_signed_delete_removes_the_file_once_and_cannot_be_replayed(CancellationToken cancellationToken)
    {
        var (cid, key) = await UploadAsync([1, 1, 2, 3, 5, 8]);
        var signed = DeleteSignature.Sign(_ownerPem, cid, DateTimeOffset.UtcNow);

        using (var deleted = await _http.SendAsync(SignedDelete(cid, signed), cancellationToken))
        {
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }
        using (var replayed = await _http.SendAsync(SignedDelete(cid, signed), cancellationToken))
        {
            await AssertProblemAsync(replayed, HttpStatusCode.Forbidden);
        }
        using (var download = await _http.SendAsync(Download(cid, key), cancellationToken))
        {
            await AssertProblemAsync(download, HttpStatusCode.NotFound);
        }
        var fresh = DeleteSignature.Sign(_ownerPem, cid, DateTimeOffset.UtcNow);
        using (var again = await _http.SendAsync(SignedDelete(cid, fresh), cancellationToken))
        {
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound).Or.EqualTo(HttpStatusCode.NoContent)
                .Or.EqualTo(HttpStatusCode.Forbidden), "deleting a deleted file changes nothing");
        }
        var unknown = ZenTalk.MeshStorage.Cid.Parse("zt" + "aeja" + new string('a', 51)).ToString();
        using (var missing = await _http.SendAsync(SignedDelete(unknown, DeleteSignature.Sign(_ownerPem, unknown, DateTimeOffset.UtcNow)), cancellationToken))
        {
            await AssertProblemAsync(missing, HttpStatusCode.NotFound);
        }
    }

    [Test]
    public async Task A_node_cannot_delete_a_file_another_owner_stored(CancellationToken cancellationToken)
    {
        using var upload = await _smallHttp.PostAsync("upload", new ByteArrayContent([4, 2]), cancellationToken);
        var file = await upload.Content.ReadFromJsonAsync<JsonElement>(cancellationToken: cancellationToken);
        var cid = file.GetProperty("cid").GetString()!;

        // A request correctly signed for the main node, whose owner key is not the file's owner.
        using var response = await _http.SendAsync(SignedDelete(cid, DeleteSignature.Sign(_ownerPem, cid, DateTimeOffset.UtcNow)), cancellationToken);
        await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        await AssertDownloadsAsync(cid, file.GetProperty("key").GetString()!, [4, 2]);
    }

    [Test]
    public async Task Unknown_routes_and_methods_are_problems_with_a_detail(CancellationToken cancellationToken)
    {
        using var missing = await _http.GetAsync("nothing-here", cancellationToken);
        Assert.That(await AssertProblemAsync(missing, HttpStatusCode.NotFound), Does.Contain("/nothing-here"));
        using var wrongMethod = await _http.PutAsync("upload", new ByteArrayContent([1]), cancellationToken);
        Assert.That(await AssertProblemAsync(wrongMethod, HttpStatusCode.MethodNotAllowed), Does.Contain("POST"));
        Assert.That(wrongMethod.Content.Headers.Allow, Is.EquivalentTo(new[] { "POST" }));
        using var wrongMethodNoToken = await _host.CreateClient(withToken: false).DeleteAsync("network", cancellationToken);
        await AssertProblemAsync(wrongMethodNoToken, HttpStatusCode.MethodNotAllowed);
    }

    [Test]
    public async Task A_request_target_that_is_too_long_is_a_414_problem(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("status/" + new string('a', 10_000), cancellationToken);
        Assert.That(await AssertProblemAsync(response, (HttpStatusCode)414), Does.Contain("4096"));
    }

    [Test]
    public async Task Empty_uploads_are_400_without_a_length_and_when_chunked(CancellationToken cancellationToken)
    {
        // Chunked, with no data at all.
        using (var chunked = await _http.PostAsync("upload", new StreamContent(new GeneratedStream(0, 3)), cancellationToken))
        {
            await AssertProblemAsync(chunked, HttpStatusCode.BadRequest);
        }

        // No Content-Length and no Transfer-Encoding (curl -X POST …/upload): an HTTP/1.1 request without a body.
        var (status, body) = await RawRequestAsync($"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {_host.Token}\r\nConnection: close\r\n\r\n");
        Assert.That(status, Is.EqualTo(400), body);
        Assert.That(body, Does.Contain("application/problem+json").And.Contain("Empty upload"));
    }

    [Test]
    public async Task Writes_need_the_api_token(CancellationToken cancellationToken)
    {
        using var anonymous = _host.CreateClient(withToken: false);
        using (var missing = await anonymous.PostAsync("upload", new ByteArrayContent([1, 2, 3]), cancellationToken))
        {
            Assert.That(await AssertProblemAsync(missing, HttpStatusCode.Unauthorized), Does.Contain("api-token"));
            Assert.That(missing.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        }
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "upload") { Content = new ByteArrayContent([1, 2, 3]) };
        wrong.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _small.Token);
        using (var response = await anonymous.SendAsync(wrong, cancellationToken))
        {
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        }
        var (cid, _) = await UploadAsync([7, 7, 7]);
        using (var delete = await anonymous.SendAsync(SignedDelete(cid, DeleteSignature.Sign(_ownerPem, cid, DateTimeOffset.UtcNow)), cancellationToken))
        {
            await AssertProblemAsync(delete, HttpStatusCode.Unauthorized);
        }
        // Reads need no token: a download's capability is the content key.
        using var network = await anonymous.GetAsync("network", cancellationToken);
        Assert.That(network.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task A_foreign_host_or_a_cross_origin_write_is_refused(CancellationToken cancellationToken)
    {
        using (var rebinding = new HttpRequestMessage(HttpMethod.Get, "network"))
        {
            rebinding.Headers.Host = "attacker.example";
            using var response = await _http.SendAsync(rebinding, cancellationToken);
            Assert.That(await AssertProblemAsync(response, HttpStatusCode.BadRequest), Does.Contain("--allowed-host"));
        }
        using (var localhost = new HttpRequestMessage(HttpMethod.Get, "health"))
        {
            localhost.Headers.Host = $"localhost:{_host.HttpAddress.Port}";
            using var response = await _http.SendAsync(localhost, cancellationToken);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        foreach (var (header, value) in new[] { ("Origin", "http://attacker.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site") })
        {
            using var foreign = new HttpRequestMessage(HttpMethod.Post, "upload") { Content = new ByteArrayContent([1]) };
            foreign.Headers.TryAddWithoutValidation(header, value);
            using var response = await _http.SendAsync(foreign, cancellationToken);
            await AssertProblemAsync(response, HttpStatusCode.Forbidden);
        }
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "upload") { Content = new ByteArrayContent([1]) };
        sameOrigin.Headers.TryAddWithoutValidation("Origin", _host.HttpAddress.GetLeftPart(UriPartial.Authority));
        sameOrigin.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        using (var response = await _http.SendAsync(sameOrigin, cancellationToken))
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync(cancellationToken));
        }
    }

    [Test]
    public async Task Ready_reports_the_routing_table_and_node_the_status_page_figures(CancellationToken cancellationToken)
    {
        var ready = await _http.GetFromJsonAsync<JsonElement>("ready", cancellationToken: cancellationToken);
        Assert.That(ready.GetProperty("status").GetString(), Is.EqualTo("ready"));
        Assert.That(ready.GetProperty("peers").GetInt32(), Is.GreaterThanOrEqualTo(10));
        var node = await _http.GetFromJsonAsync<JsonElement>("node", cancellationToken: cancellationToken);
        var network = await _http.GetFromJsonAsync<JsonElement>("network", cancellationToken: cancellationToken);
        Assert.That(node.GetProperty("nodeId").GetString(), Is.EqualTo(network.GetProperty("nodeId").GetString()));
        Assert.That(node.GetProperty("bootstrap").GetString(), Is.EqualTo(network.GetProperty("bootstrap").GetString()));
        Assert.That(node.GetProperty("ready").GetBoolean(), Is.True);
        Assert.That(node.GetProperty("transfers").GetProperty("slots").GetInt32(), Is.GreaterThan(0));
    }

    [Test]
    public async Task The_openapi_document_lists_exactly_the_routes_the_node_answers(CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync("openapi/v1.json", cancellationToken));
        var paths = document.RootElement.GetProperty("paths");
        var documented = paths.EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => $"{m.Name.ToUpperInvariant()} {p.Name}")).Order().ToList();
        Assert.That(documented, Is.EqualTo(new[]
        {
            "DELETE /delete/{cid}", "GET /download/{cid}", "GET /health", "GET /network", "GET /node", "GET /ready",
            "GET /status/{cid}", "POST /upload",
        }));

        // Every documented operation is routed (whatever it answers, it is not "no route" or "method not allowed"),
        // every other method on its path is 405, and every error it lists is a problem details body.
        var cid = ZenTalk.MeshStorage.Cid.Parse("zt" + "aeja" + new string('a', 51)).ToString();
        foreach (var path in paths.EnumerateObject())
        {
            var url = path.Name.TrimStart('/').Replace("{cid}", cid, StringComparison.Ordinal);
            var methods = path.Value.EnumerateObject().Select(m => m.Name.ToUpperInvariant()).ToList();
            foreach (var method in new[] { "GET", "POST", "PUT", "DELETE", "PATCH" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                if (method is "POST" or "PUT" or "PATCH") request.Content = new ByteArrayContent([1]);
                using var response = await _http.SendAsync(request, cancellationToken);
                if (methods.Contains(method))
                {
                    Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.MethodNotAllowed), $"{method} {path.Name}");
                    if (response.StatusCode == HttpStatusCode.NotFound) Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Not.Contain("No route"), $"{method} {path.Name}");
                }
                else
                {
                    Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed), $"{method} {path.Name}");
                }
            }
            foreach (var operation in path.Value.EnumerateObject())
            {
                foreach (var answer in operation.Value.GetProperty("responses").EnumerateObject().Where(r => r.Name[0] is '4' or '5'))
                {
                    Assert.That(answer.Value.GetProperty("content").TryGetProperty("application/problem+json", out _), Is.True,
                        $"{operation.Name} {path.Name} {answer.Name}");
                }
            }
        }
    }

    [Test]
    public async Task Metrics_are_served_in_prometheus_text_format(CancellationToken cancellationToken)
    {
        await UploadAsync([3, 1, 4, 1, 5]);
        using var response = await _http.GetAsync("metrics", cancellationToken);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var families = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
        // The families docs/rest-api.md lists, as far as one upload produces them.
        var listed = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "../../../../docs/rest-api.md"))
            .Where(l => l.StartsWith("| `zentalk_", StringComparison.Ordinal) || l.StartsWith("| `http_", StringComparison.Ordinal) || l.StartsWith("| `kestrel_", StringComparison.Ordinal))
            .Select(l => l.Split('`')[1]).ToList();
        Assert.That(listed, Has.Count.GreaterThan(10));
        var always = listed.Where(f => f.StartsWith("zentalk_node_", StringComparison.Ordinal) || f is "zentalk_mesh_files_stored_total" or "http_server_request_duration_seconds").ToList();
        Assert.That(families, Is.SupersetOf(always), text);
        Assert.That(listed.Where(f => !families.Contains(f) && !text.Contains(f, StringComparison.Ordinal)), Has.All.StartWith("zentalk_mesh_"),
            "families the docs list that are not mesh counters still waiting for their first event");
    }

    private Task<(string Cid, string Key)> UploadAsync(byte[] data) => NodeApi.UploadAsync(_http, data);

    private async Task AssertDownloadsAsync(string cid, string key, byte[] expected)
    {
        using var response = await _http.SendAsync(Download(cid, key));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(expected));
    }

    private static HttpRequestMessage SignedDelete(string cid, (string Timestamp, string Nonce, string Signature) signed)
    {
        var request = new HttpRequestMessage(HttpMethod.Delete, $"delete/{cid}");
        request.Headers.TryAddWithoutValidation(DeleteSignature.TimestampHeader, signed.Timestamp);
        request.Headers.TryAddWithoutValidation(DeleteSignature.NonceHeader, signed.Nonce);
        request.Headers.TryAddWithoutValidation(DeleteSignature.SignatureHeader, signed.Signature);
        return request;
    }

    /// <summary>Sends raw bytes on a new connection (what HttpClient will not send) and reads the status and the whole answer.</summary>
    private async Task<(int Status, string Response)> RawRequestAsync(string request)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(_host.HttpAddress.Host, _host.HttpAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (int.Parse(text.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), text);
    }
}
