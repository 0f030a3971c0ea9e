using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>
/// The status page in a real headless chromium: it loads from the node alone (no request to any other origin), and
/// every figure it shows matches <c>GET /node</c>. A screenshot is attached to the test results.
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public class StatusPageTests
{
    [Test]
    public async Task The_status_page_shows_the_figures_of_the_json_api(CancellationToken cancellationToken)
    {
        var chromium = HeadlessChromium.FindExecutable();
        if (chromium is null)
        {
            if (Environment.GetEnvironmentVariable("ZENTALK_REQUIRE_BROWSER") == "1") Assert.Fail("chromium is not installed (.ci/run installs Debian's chromium)");
            Assert.Ignore("chromium is not installed (apt-get install chromium; .ci/run does)");
        }
        var dir = Path.Combine(Path.GetTempPath(), $"zentalk-status-page-{Guid.NewGuid():N}");
        try
        {
            await using var mesh = await LocalMesh.StartAsync(14, new LocalMeshOptions { Node = { Repair = { Interval = Timeout.InfiniteTimeSpan } } }, cancellationToken: cancellationToken);
            await using var node = await StorageNodeProcess.StartAsync(dir,
                ["--bootstrap", string.Join(',', mesh.Nodes.Select(n => n.BootstrapAddress)), "--quota", (512L << 20).ToString(CultureInfo.InvariantCulture),
                 "--Mesh:RepairInterval", "01:00:00"], cancellationToken: cancellationToken);
            using var http = node.CreateClient();
            foreach (var size in new[] { 3_000_000, 20_000 })
            {
                using var upload = await http.PostAsync("upload", new ByteArrayContent(new byte[size]), cancellationToken);
                Assert.That(upload.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            }
            // A refused request, so that the page has a recent warning to show.
            using (var rebinding = new HttpRequestMessage(HttpMethod.Get, "network"))
            {
                rebinding.Headers.Host = "rebinding.example";
                using var refused = await http.SendAsync(rebinding, cancellationToken);
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            }
            // The first repair pass comes about 10 s after the start; the next one an hour later.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while ((await http.GetFromJsonAsync<JsonElement>("node", cancellationToken)).GetProperty("lastRepair").ValueKind == JsonValueKind.Null)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "no repair pass within 60 s");
                await Task.Delay(500, cancellationToken);
            }

            await using var browser = await HeadlessChromium.StartAsync(chromium, node.HttpAddress, cancellationToken);
            await browser.CallAsync("Network.enable", cancellationToken: cancellationToken);
            await browser.CallAsync("Page.reload", new { ignoreCache = true }, cancellationToken);
            await browser.WaitForAsync("document.readyState === 'complete' && document.body.dataset.loaded === '1'", TimeSpan.FromSeconds(30), cancellationToken);
            var shown = (await browser.EvaluateAsync(
                "JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-field]')].map(e => [e.dataset.field, { value: e.dataset.value, text: e.textContent }])))",
                cancellationToken))!.GetValue<string>();
            var rows = (await browser.EvaluateAsync("JSON.stringify([...document.querySelectorAll('#errors tr')].map(r => [...r.cells].map(c => c.textContent)))",
                cancellationToken))!.GetValue<string>();
            var api = await http.GetFromJsonAsync<JsonElement>("node", cancellationToken);

            var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "status-page.png");
            await File.WriteAllBytesAsync(screenshot, await browser.ScreenshotAsync(cancellationToken), cancellationToken);
            TestContext.AddTestAttachment(screenshot, "The status page, as headless chromium showed it");

            var fields = JsonNode.Parse(shown)!.AsObject();
            string Value(string field) => fields[field]!["value"]!.GetValue<string>();
            string Text(string field) => fields[field]!["text"]!.GetValue<string>();
            Assert.Multiple(() =>
            {
                Assert.That(Text("nodeId"), Is.EqualTo(api.GetProperty("nodeId").GetString()));
                Assert.That(Value("peers"), Is.EqualTo(api.GetProperty("peers").GetInt32().ToString(CultureInfo.InvariantCulture)));
                Assert.That(int.Parse(Value("peers"), CultureInfo.InvariantCulture), Is.EqualTo(14));
                Assert.That(Text("bootstrap"), Is.EqualTo("--bootstrap " + api.GetProperty("bootstrap").GetString()));
                Assert.That(Value("storedBytes"), Is.EqualTo(api.GetProperty("storedBytes").GetInt64().ToString(CultureInfo.InvariantCulture)));
                Assert.That(Text("storedBytes"), Is.EqualTo(Bytes(api.GetProperty("storedBytes").GetInt64())));
                Assert.That(Value("quotaBytes"), Is.EqualTo((512L << 20).ToString(CultureInfo.InvariantCulture)));
                Assert.That(Text("quotaBytes"), Is.EqualTo("512.0 MiB"));
                Assert.That(Value("storedShards"), Is.EqualTo(api.GetProperty("storedShards").GetInt64().ToString(CultureInfo.InvariantCulture)));
                Assert.That(int.Parse(Value("storedShards"), CultureInfo.InvariantCulture), Is.GreaterThan(0));
                Assert.That(Value("files"), Is.EqualTo(api.GetProperty("files").GetInt32().ToString(CultureInfo.InvariantCulture)));
                Assert.That(Value("ready"), Is.EqualTo("true"));
                var repair = api.GetProperty("lastRepair");
                Assert.That(Value("repairAt"), Is.EqualTo(repair.GetProperty("at").GetString()));
                Assert.That(Value("repairFilesChecked"), Is.EqualTo(repair.GetProperty("filesChecked").GetInt32().ToString(CultureInfo.InvariantCulture)));
                Assert.That(Value("repairSegmentsLost"), Is.EqualTo("0"));
                Assert.That(Value("transferSlots"), Is.EqualTo(api.GetProperty("transfers").GetProperty("slots").GetInt32().ToString(CultureInfo.InvariantCulture)));
                var errors = api.GetProperty("recentErrors");
                var shownRows = JsonNode.Parse(rows)!.AsArray();
                Assert.That(Value("errorCount"), Is.EqualTo(errors.GetArrayLength().ToString(CultureInfo.InvariantCulture)));
                Assert.That(shownRows, Has.Count.EqualTo(errors.GetArrayLength()).And.Count.GreaterThan(0));
                Assert.That(shownRows[0]![3]!.GetValue<string>(), Is.EqualTo(errors[0].GetProperty("message").GetString()));
                Assert.That(shownRows[0]![3]!.GetValue<string>(), Does.Contain("rebinding.example"));
            });

            // Everything the page loaded came from the node itself.
            var requested = browser.Events.Where(e => e.Method == "Network.requestWillBeSent").Select(e => e.Params!["request"]!["url"]!.GetValue<string>()).ToList();
            Assert.That(requested, Has.Some.EndsWith("/status.js").And.Some.EndsWith("/node"));
            Assert.That(requested, Has.All.StartsWith(node.HttpAddress.GetLeftPart(UriPartial.Authority)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The page's own formatting (status.js formatBytes).</summary>
    private static string Bytes(long n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        int i = 0;
        double v = n;
        while (v >= 1024 && i < units.Length - 1)
        {
            v /= 1024;
            i++;
        }
        return i == 0 ? $"{n} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[i]}");
    }
}
