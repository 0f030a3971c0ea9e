using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk;
using ZenTalk.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ZenTalk facade services in a dependency injection container.</summary>
public static class ZenTalkServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AttachmentService"/> and <see cref="BackupService"/> as singletons. They take the
    /// <see cref="IMessageStore"/>, <see cref="IMeshStore"/> and <see cref="OwnerKey"/> registered in the container
    /// (register those yourself: opening a store and starting a node are asynchronous) and its
    /// <see cref="ILoggerFactory"/> when there is one. Each part of the message store's contract
    /// (<see cref="IMessageRepository"/>, <see cref="IContactRepository"/>, <see cref="IConversationRepository"/>,
    /// <see cref="IAttachmentRepository"/>, <see cref="ISettingsStore"/>, <see cref="IMessageStoreBackup"/>) resolves to the
    /// registered <see cref="IMessageStore"/> unless registered otherwise, so a class can ask for only the part it uses.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the attachment options; may be null.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddZenTalk(this IServiceCollection services, Action<AttachmentServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IMessageRepository>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton<IContactRepository>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton<IConversationRepository>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton<IAttachmentRepository>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton<ISettingsStore>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton<IMessageStoreBackup>(provider => provider.GetRequiredService<IMessageStore>());
        services.TryAddSingleton(provider =>
        {
            var options = new AttachmentServiceOptions { LoggerFactory = provider.GetService<ILoggerFactory>() };
            configure?.Invoke(options);
            return new AttachmentService(provider.GetRequiredService<IMessageRepository>(), provider.GetRequiredService<IMeshStore>(),
                provider.GetRequiredService<OwnerKey>(), options);
        });
        services.TryAddSingleton(provider => new BackupService(provider.GetRequiredService<IMeshStore>(), new BackupServiceOptions
        {
            LoggerFactory = provider.GetService<ILoggerFactory>(),
            TimeProvider = provider.GetService<TimeProvider>() ?? TimeProvider.System,
        }));
        return services;
    }
}
