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
    /// <see cref="ILoggerFactory"/> when there is one.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the attachment options; may be null.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    public static IServiceCollection AddZenTalk(this IServiceCollection services, Action<AttachmentServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(provider =>
        {
            var options = new AttachmentServiceOptions { LoggerFactory = provider.GetService<ILoggerFactory>() };
            configure?.Invoke(options);
            return new AttachmentService(provider.GetRequiredService<IMessageStore>(), provider.GetRequiredService<IMeshStore>(),
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
