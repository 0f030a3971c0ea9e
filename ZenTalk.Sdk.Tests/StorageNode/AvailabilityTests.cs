using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using static ZenTalk.Sdk.Tests.StorageNode.NodeApi;

namespace ZenTalk.Sdk.Tests.StorageNode;

/// <summary>
/// 404 against 503: a node of a 5-node mesh (4 in-process peers, so each node holds 3 shards of a segment) answers 404
/// for a file that is not in the mesh and 503 with Retry-After for one that is, but whose holders are down.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public class AvailabilityTests
{
    [Test]
    public async Task Offline_is_503_and_unknown_or_deleted_is_404(CancellationToken cancellationToken)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"zentalk-availability-{Guid.NewGuid():N}");
        try
        {
            await using var mesh = await LocalMesh.StartAsync(4, MeshTestData.FastOptions(), cancellationToken: cancellationToken);
            await using var node = await StorageNodeProcess.StartAsync(dir, ["--bootstrap", string.Join(',', mesh.Nodes.Select(n => n.BootstrapAddress))],
                cancellationToken: cancellationToken);
            using var http = node.CreateClient();

            var data = RandomNumberGenerator.GetBytes(40_000);
            var kept = await UploadAsync(http, data);
            var deleted = await UploadAsync(http, [1, 2, 3]);
            await mesh.Nodes[0].Store.DeleteAsync(ZenTalk.MeshStorage.Cid.Parse(deleted.Cid),
                ZenTalk.MeshStorage.OwnerKey.ImportPem(await File.ReadAllTextAsync(node.OwnerKeyPath, cancellationToken)), cancellationToken);
            var unknown = ZenTalk.MeshStorage.Cid.Parse("zt" + "aeja" + new string('a', 51)).ToString();

            using (var ok = await http.SendAsync(Download(kept.Cid, kept.Key), cancellationToken))
            {
                Assert.That(await ok.Content.ReadAsByteArrayAsync(cancellationToken), Is.EqualTo(data));
            }
            foreach (var cid in new[] { unknown, deleted.Cid })
            {
                using var response = await http.SendAsync(Download(cid, kept.Key), cancellationToken);
                await AssertProblemAsync(response, HttpStatusCode.NotFound);
                using var status = await http.GetAsync($"status/{cid}", cancellationToken);
                await AssertProblemAsync(status, HttpStatusCode.NotFound);
            }

            // Three of the five nodes down: 6 of the 15 shards answer, 10 are needed.
            for (int i = 0; i < 3; i++) await mesh.StopNodeAsync(i);
            using (var offline = await http.SendAsync(Download(kept.Cid, kept.Key), cancellationToken))
            {
                Assert.That(await AssertProblemAsync(offline, HttpStatusCode.ServiceUnavailable), Does.Contain("exists"));
                Assert.That(offline.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(30)));
            }
            using (var stillUnknown = await http.SendAsync(Download(unknown, kept.Key), cancellationToken))
            {
                await AssertProblemAsync(stillUnknown, HttpStatusCode.NotFound);
            }

            // Every peer down: the node cannot tell an unknown file from an unreachable one, so it says 503.
            await mesh.StopNodeAsync(3);
            using (var alone = await http.SendAsync(Download(unknown, kept.Key), cancellationToken))
            {
                await AssertProblemAsync(alone, HttpStatusCode.ServiceUnavailable);
            }
            var recent = (await http.GetFromJsonAsync<JsonElement>("node", cancellationToken)).GetProperty("recentErrors");
            Assert.That(recent.EnumerateArray().Select(e => e.GetProperty("message").GetString()), Has.Some.Contains(kept.Cid),
                "the unavailable download is among the recent errors the status page shows");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
