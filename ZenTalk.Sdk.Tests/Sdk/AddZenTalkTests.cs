using Microsoft.Extensions.DependencyInjection;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.MeshStorage.Distributed;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Sdk;

[TestFixture]
[CancelAfter(60_000)]
public class AddZenTalkTests
{
    [Test]
    public async Task The_registered_services_send_and_open_through_the_stores_in_the_container(CancellationToken cancellationToken)
    {
        await using var store = await SqliteMessageStore.OpenInMemoryAsync(cancellationToken: cancellationToken);
        using var owner = OwnerKey.Generate(2048);
        var services = new ServiceCollection()
            .AddSingleton<IMessageStore>(store)
            .AddSingleton(SdkMesh.Mesh.Nodes[4].Store)
            .AddSingleton(owner)
            .AddZenTalk(o => o.SenderId = "me");
        var provider = new SingletonProvider(services);

        var attachments = provider.GetRequiredService<AttachmentService>();
        Assert.That(provider.GetRequiredService<AttachmentService>(), Is.SameAs(attachments));
        Assert.That(provider.GetRequiredService<BackupService>(), Is.Not.Null);
        // Each part of the store's contract resolves to the one registered store.
        Assert.That(new object[]
        {
            provider.GetRequiredService<IMessageRepository>(), provider.GetRequiredService<IContactRepository>(),
            provider.GetRequiredService<IConversationRepository>(), provider.GetRequiredService<IAttachmentRepository>(),
            provider.GetRequiredService<ISettingsStore>(), provider.GetRequiredService<IMessageStoreBackup>(),
        }, Has.All.SameAs(store));

        var data = MeshTestData.Bytes(70_000, 11);
        var sent = await attachments.SendAttachmentAsync("c", new MemoryStream(data), "d.bin", "application/octet-stream", cancellationToken: cancellationToken);
        Assert.That(sent.SenderId, Is.EqualTo("me"));
        Assert.That(await MeshTestData.ReadAllAsync(await attachments.OpenAttachmentAsync(sent.MessageId, cancellationToken: cancellationToken), cancellationToken), Is.EqualTo(data));
    }

    [Test]
    public void Registering_twice_keeps_one_registration_per_service()
    {
        var services = new ServiceCollection().AddZenTalk().AddZenTalk();
        Assert.That(services.Count(d => d.ServiceType == typeof(AttachmentService)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(BackupService)), Is.EqualTo(1));
    }

    /// <summary>
    /// Just enough of a container for singletons (the test project has only the DI abstractions): instances and
    /// factories, each factory run once.
    /// </summary>
    private sealed class SingletonProvider(IServiceCollection services) : IServiceProvider
    {
        private readonly Dictionary<Type, object> _built = [];

        public object? GetService(Type serviceType)
        {
            if (_built.TryGetValue(serviceType, out var built))
            {
                return built;
            }
            var descriptor = services.LastOrDefault(d => d.ServiceType == serviceType);
            var instance = descriptor?.ImplementationInstance ?? descriptor?.ImplementationFactory?.Invoke(this);
            if (instance is not null)
            {
                _built[serviceType] = instance;
            }
            return instance;
        }
    }
}
