using Microsoft.Extensions.DependencyInjection;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Sdk;

[TestFixture]
[CancelAfter(60_000)]
public class AddZenTalkTests
{
    [Test]
    public async Task The_registered_services_send_and_open_through_the_stores_in_the_container()
    {
        await using var store = await SqliteMessageStore.OpenInMemoryAsync();
        using var owner = OwnerKey.Create(2048);
        var services = new ServiceCollection()
            .AddSingleton<IMessageStore>(store)
            .AddSingleton(SdkMesh.Mesh.Nodes[4].Store)
            .AddSingleton(owner)
            .AddZenTalk(o => o.SenderId = "me");
        await using var provider = services.BuildServiceProvider();

        var attachments = provider.GetRequiredService<AttachmentService>();
        Assert.That(provider.GetRequiredService<AttachmentService>(), Is.SameAs(attachments));
        Assert.That(provider.GetRequiredService<BackupService>(), Is.Not.Null);

        var data = MeshTestData.Bytes(70_000, 11);
        var sent = await attachments.SendAttachmentAsync("c", new MemoryStream(data), "d.bin", "application/octet-stream");
        Assert.That(sent.SenderId, Is.EqualTo("me"));
        Assert.That(await MeshTestData.ReadAllAsync(await attachments.OpenAttachmentAsync(sent.MessageId)), Is.EqualTo(data));
    }
}
