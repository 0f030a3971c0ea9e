using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;

namespace StorageNode;

/// <summary>A running storage node: the mesh node (and optional in-process peers) plus the REST API on Kestrel.</summary>
internal sealed class StorageNodeHost : IAsyncDisposable
{
    private readonly LocalMesh? _localMesh;

    private StorageNodeHost(WebApplication app, MeshNode node, LocalMesh? localMesh, OwnerKey owner, Uri httpAddress)
    {
        App = app;
        Node = node;
        _localMesh = localMesh;
        Owner = owner;
        HttpAddress = httpAddress;
    }

    public WebApplication App { get; }
    public MeshNode Node { get; }
    public OwnerKey Owner { get; }

    /// <summary>The REST API's base address, e.g. http://127.0.0.1:5080/.</summary>
    public Uri HttpAddress { get; }

    public static async Task<StorageNodeHost> StartAsync(StorageNodeSettings settings, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(settings.ResolvedDataDirectory);
        var owner = LoadOrCreateOwnerKey(settings.ResolvedOwnerKeyPath);
        LocalMesh? localMesh = null;
        MeshNode? node = null;
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            if (settings.Quiet)
            {
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
            }
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Services.AddProblemDetails();
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(settings.HttpAddress, settings.HttpPort);
                // Only /upload takes a body; it raises its own limit. Everything else gets a small one.
                kestrel.Limits.MaxRequestBodySize = 64 * 1024;
                kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            });
            app = builder.Build();
            var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();

            var bootstrap = new List<string>(settings.Bootstrap);
            if (settings.LocalMesh > 0)
            {
                localMesh = await LocalMesh.StartAsync(settings.LocalMesh, null, loggerFactory, cancellationToken).ConfigureAwait(false);
                bootstrap.AddRange(localMesh.Nodes.Select(n => n.BootstrapAddress));
            }
            node = await MeshNode.StartAsync(new MeshNodeOptions
            {
                ListenAddress = settings.ListenAddress,
                Port = settings.MeshPort,
                DataDirectory = Path.Combine(settings.ResolvedDataDirectory, "mesh"),
                BootstrapPeers = bootstrap,
                EnableMdns = settings.Mdns,
            }, loggerFactory, cancellationToken).ConfigureAwait(false);

            app.UseExceptionHandler();
            app.UseStatusCodePages();
            RestApi.Map(app, node.Store, owner, settings, TimeProvider.System);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new StorageNodeHost(app, node, localMesh, owner, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
            if (node is not null)
            {
                await node.DisposeAsync().ConfigureAwait(false);
            }
            if (localMesh is not null)
            {
                await localMesh.DisposeAsync().ConfigureAwait(false);
            }
            owner.Dispose();
            throw;
        }
    }

    /// <summary>Reads the owner key PEM, or creates one there (readable by the current user only).</summary>
    internal static OwnerKey LoadOrCreateOwnerKey(string path)
    {
        if (File.Exists(path))
        {
            return OwnerKey.ImportPem(File.ReadAllText(path));
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = OwnerKey.Create();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var file = new StreamWriter(path, options))
        {
            file.Write(key.ExportPrivateKeyPem());
        }
        return key;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
        await Node.DisposeAsync().ConfigureAwait(false);
        if (_localMesh is not null)
        {
            await _localMesh.DisposeAsync().ConfigureAwait(false);
        }
        Owner.Dispose();
    }
}
