using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>Requests to a storage node's REST API as a client sends them, and the check of a problem details answer.</summary>
internal static class NodeApi
{
    public static async Task<(string Cid, string Key)> UploadAsync(HttpClient http, byte[] data)
    {
        using var response = await http.PostAsync("upload", new ByteArrayContent(data));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (json.GetProperty("cid").GetString()!, json.GetProperty("key").GetString()!);
    }

    public static HttpRequestMessage Download(string cid, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"download/{cid}");
        request.Headers.TryAddWithoutValidation("X-ZenTalk-Key", key);
        return request;
    }

    /// <summary>Checks the status and that the body is problem details with a title and a detail; returns the detail.</summary>
    public static async Task<string> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("status").GetInt32(), Is.EqualTo((int)expected));
        Assert.That(json.RootElement.GetProperty("title").GetString(), Is.Not.Empty);
        var detail = json.RootElement.GetProperty("detail").GetString();
        Assert.That(detail, Is.Not.Empty, body);
        return detail!;
    }
}
