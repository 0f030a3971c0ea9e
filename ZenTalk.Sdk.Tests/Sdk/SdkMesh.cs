using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;

namespace ZenTalk.Sdk.Tests.Sdk;

/// <summary>One 15-node loopback mesh shared by the facade tests (starting one takes seconds; tests never stop nodes).</summary>
[SetUpFixture]
public class SdkMesh
{
    public static LocalMesh Mesh { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartMesh() => Mesh = await LocalMesh.StartAsync(15, MeshTestData.FastOptions());

    [OneTimeTearDown]
    public async Task StopMesh() => await Mesh.DisposeAsync();

    /// <summary>Shards held across the whole mesh: what an upload adds and a delete takes away.</summary>
    public static async Task<long> StoredShardsAsync()
    {
        long total = 0;
        foreach (var node in Mesh.Nodes)
        {
            total += (await node.Store.GetNetworkAsync()).StoredShards;
        }
        return total;
    }
}
