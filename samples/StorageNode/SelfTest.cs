using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace StorageNode;

/// <summary>--short: start the node next to a local 14-node mesh and call every endpoint once, as a client would.</summary>
internal static class SelfTest
{
    public static async Task<int> RunAsync(StorageNodeSettings settings)
    {
        var data = Path.Combine(Path.GetTempPath(), $"zentalk-storagenode-{Guid.NewGuid():N}");
        settings.DataDirectory ??= data;
        settings.LocalMesh = Math.Max(settings.LocalMesh, 14);
        settings.HttpPort = 0;
        settings.Quiet = true;
        try
        {
            await using var host = await StorageNodeHost.StartAsync(settings);
            using var http = new HttpClient { BaseAddress = host.HttpAddress };
            Console.WriteLine($"StorageNode self-test: REST API on {host.HttpAddress}, mesh node {host.Node.Endpoint}");

            var health = await http.GetFromJsonAsync<JsonElement>("health");
            Console.WriteLine($"  GET /health -> {health.GetProperty("status").GetString()}");

            var file = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
            var upload = await http.PostAsync("upload", new ByteArrayContent(file));
            Expect(upload.StatusCode == HttpStatusCode.Created, $"POST /upload -> {(int)upload.StatusCode}");
            var uploaded = await upload.Content.ReadFromJsonAsync<JsonElement>();
            var cid = uploaded.GetProperty("cid").GetString()!;
            var key = uploaded.GetProperty("key").GetString()!;
            Console.WriteLine($"  POST /upload ({file.Length:N0} bytes) -> 201, cid {cid}");

            using (var download = new HttpRequestMessage(HttpMethod.Get, $"download/{cid}"))
            {
                download.Headers.Add(RestApi.KeyHeader, key);
                using var response = await http.SendAsync(download, HttpCompletionOption.ResponseHeadersRead);
                Expect(response.StatusCode == HttpStatusCode.OK, $"GET /download -> {(int)response.StatusCode}");
                var back = await response.Content.ReadAsByteArrayAsync();
                Expect(back.AsSpan().SequenceEqual(file), "GET /download returned different bytes");
                Console.WriteLine($"  GET /download/{{cid}} -> 200, {back.Length:N0} bytes, identical");
            }

            var status = await http.GetFromJsonAsync<JsonElement>($"status/{cid}");
            Console.WriteLine($"  GET /status/{{cid}} -> {status.GetProperty("health").GetString()}, {status.GetProperty("segments").GetArrayLength()} segment(s)");

            var network = await http.GetFromJsonAsync<JsonElement>("network");
            Console.WriteLine($"  GET /network -> {network.GetProperty("routingTableSize").GetInt32()} peers in the routing table");

            var unsigned = await http.DeleteAsync($"delete/{cid}");
            Expect(unsigned.StatusCode == HttpStatusCode.Unauthorized, $"unsigned DELETE -> {(int)unsigned.StatusCode}");
            Console.WriteLine("  DELETE /delete/{cid} without a signature -> 401");

            var (timestamp, nonce, signature) = DeleteSignature.Sign(host.Owner.ExportPrivateKeyPem(), cid, DateTimeOffset.UtcNow);
            using (var delete = new HttpRequestMessage(HttpMethod.Delete, $"delete/{cid}"))
            {
                delete.Headers.Add(DeleteSignature.TimestampHeader, timestamp);
                delete.Headers.Add(DeleteSignature.NonceHeader, nonce);
                delete.Headers.Add(DeleteSignature.SignatureHeader, signature);
                var deleted = await http.SendAsync(delete);
                Expect(deleted.StatusCode == HttpStatusCode.NoContent, $"signed DELETE -> {(int)deleted.StatusCode}");
            }
            Console.WriteLine("  DELETE /delete/{cid} signed by the owner key -> 204");
            Console.WriteLine("StorageNode self-test passed.");
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"StorageNode self-test failed: {e}");
            return 1;
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Unexpected: {what}");
        }
    }
}
