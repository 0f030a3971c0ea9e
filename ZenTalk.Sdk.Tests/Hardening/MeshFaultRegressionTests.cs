using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>Defects the fault scenarios found, each pinned by a small test.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class MeshFaultRegressionTests
{
    // Found by the fault schedule: LocalMesh offered a stopped node as a bootstrap peer, whose closed socket threw
    // ObjectDisposedException, so no node could be restarted while another was down.
    [Test]
    public async Task A_node_restarts_while_another_node_is_stopped()
    {
        await using var mesh = await LocalMesh.StartAsync(3, MeshTestData.FastOptions());
        await mesh.StopNodeAsync(1);
        var back = await mesh.RestartNodeAsync(2);
        Assert.That(back.IsStopped, Is.False);
        Assert.That(await back.Network.Dht.PingAsync(mesh.Nodes[0].Network.Contact, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task A_client_cannot_be_started_through_a_stopped_node()
    {
        await using var mesh = await LocalMesh.StartAsync(2, MeshTestData.FastOptions());
        await mesh.StopNodeAsync(1);
        Assert.ThrowsAsync<InvalidOperationException>(() => mesh.StartClientAsync(1));
    }
}
