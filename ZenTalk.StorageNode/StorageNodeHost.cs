using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting.Systemd;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.StorageNode;

/// <summary>
/// A running node: the mesh node (and any in-process peers) plus the REST API on Kestrel, started in that order and
/// stopped in the reverse one. A start that fails part-way stops what it had started before it reports.
/// </summary>
internal sealed class StorageNodeHost : IAsyncDisposable
{
    /// <summary>How long a stop waits for requests in flight before closing their connections.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(6);

    /// <summary>What one HTTP connection may buffer of a request body before the node reads it.</summary>
    public const int MaxReadAhead = 64 * 1024;

    private readonly WebApplication _app;
    private readonly LocalMesh? _localMesh;
    private readonly ILoggerFactory _meshLogging;
    private int _stopped;

    private StorageNodeHost(WebApplication app, NodeState state, LocalMesh? localMesh, ILoggerFactory meshLogging, Uri httpAddress)
    {
        _app = app;
        _meshLogging = meshLogging;
        State = state;
        _localMesh = localMesh;
        HttpAddress = httpAddress;
    }

    public NodeState State { get; }

    /// <summary>The REST API's base address, e.g. http://127.0.0.1:5080/.</summary>
    public Uri HttpAddress { get; }

    public ILogger Logger => _app.Logger;

    /// <exception cref="StartupException">The mesh or API address cannot be bound, or the data directory cannot be opened.</exception>
    public static async Task<StorageNodeHost> StartAsync(NodeSettings settings, IConfiguration configuration, NodeKeys keys, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var errors = new RecentErrors(time);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        NodeLogging.Configure(builder.Logging, configuration, settings, errors);
        builder.Host.UseSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = DrainTimeout);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDetailsText.Customize);
        builder.Services.AddOpenApi();
        ConfigureTelemetry(builder, settings);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(settings.ApiAddress, settings.ApiPort);
            kestrel.AddServerHeader = false;
            // Only /upload takes a large body; it raises its own limit. Everything else gets a small one.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            // Long targets reach ApiGuard, which answers 414 with a body; past this Kestrel answers a bare 414.
            kestrel.Limits.MaxRequestLineSize = 64 * 1024;
            kestrel.Limits.MaxRequestBufferSize = 64 * 1024;
            kestrel.Limits.MaxConcurrentConnections = settings.MaxConnections;
        });
        // What a connection may read ahead of the app (1 MiB by default): with MaxConcurrentConnections it bounds the
        // memory of clients waiting for a transfer slot. Measured: 63 waiting uploads took 70 MiB at the default.
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = MaxReadAhead);

        LocalMesh? localMesh = null;
        MeshNode? node = null;
        WebApplication? app = null;
        // The mesh node starts before the web host exists, so it logs through a factory of its own, set up alike.
        var loggerFactory = LoggerFactory.Create(l => NodeLogging.Configure(l, configuration, settings, errors));
        try
        {
            var bootstrap = new List<string>(settings.Bootstrap);
            if (settings.LocalPeers > 0)
            {
                localMesh = await LocalMesh.StartAsync(settings.LocalPeers, new LocalMeshOptions
                {
                    RootDirectory = Path.Combine(settings.DataDirectory, "local-mesh"),
                    Node = { LoggerFactory = loggerFactory },
                }, cancellationToken).ConfigureAwait(false);
                bootstrap.AddRange(localMesh.Nodes.Select(n => n.BootstrapAddress));
            }
            node = await StartMeshAsync(settings, bootstrap, loggerFactory, cancellationToken).ConfigureAwait(false);

            var budget = new TransferBudget(settings.TransferMemoryBytes, MeshCodingOptions.DefaultSegmentSize, settings.TransferQueueTimeout);
            var state = new NodeState(node, settings, keys, budget, errors, time);
            builder.Services.AddSingleton(state);
            app = builder.Build();
            state.Stopping = app.Lifetime.ApplicationStopping;
            app.UseExceptionHandler();
            app.UseStatusCodePages();
            app.UseRouting();
            app.UseMiddleware<ApiGuard>(keys, settings);
            app.MapOpenApi();
            app.MapPrometheusScrapingEndpoint("/metrics");
            StatusPage.Map(app);
            RestApi.Map(app, state);
            NodeMetrics.Observe(state);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new StartupException(ExitCodes.ApiAddress, $"the REST API cannot listen on {Endpoint(settings.ApiAddress, settings.ApiPort)} ({(e.InnerException ?? e).Message}); " +
                    "choose another with --http-port / --http-address (Api:Port, Api:Address), or stop the process that holds it.", e);
            }
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            if (!IPAddress.IsLoopback(settings.ApiAddress))
                app.Logger.ApiNotOnLoopback(address);
            WarnOnEphemeralPort(app.Logger, settings.MeshPort);
            return new StorageNodeHost(app, state, localMesh, loggerFactory, new Uri(address + "/"));
        }
        catch
        {
            if (app is not null) await app.DisposeAsync().ConfigureAwait(false);
            if (node is not null) await node.DisposeAsync().ConfigureAwait(false);
            if (localMesh is not null) await localMesh.DisposeAsync().ConfigureAwait(false);
            loggerFactory.Dispose();
            throw;
        }
    }

    private static async Task<MeshNode> StartMeshAsync(NodeSettings settings, List<string> bootstrap, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var networkKey = LoadNetworkKey(settings);
        try
        {
            // The node tool's Mesh:* keys map onto the options' sections here; MeshNode.StartAsync validates the result.
            return await MeshNode.StartAsync(new MeshNodeOptions
            {
                PrivateNetworkKey = networkKey,
                ListenAddress = settings.MeshAddress.ToString(),
                Port = settings.MeshPort,
                DataDirectory = settings.MeshDirectory,
                BootstrapPeers = bootstrap,
                EnableMdns = settings.Mdns,
                Storage =
                {
                    QuotaBytes = settings.QuotaBytes,
                    MaxBytesPerOwner = settings.MaxBytesPerOwner,
                    MaxBytesPerPeer = settings.MaxBytesPerPeer,
                    MaxBytesPerAddressPrefix = settings.MaxBytesPerAddressPrefix,
                },
                Repair = { Interval = settings.RepairInterval },
                LoggerFactory = loggerFactory,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AddressNotAvailable or SocketError.AccessDenied)
        {
            throw new StartupException(ExitCodes.MeshAddress, $"the mesh cannot listen on {Endpoint(settings.MeshAddress, settings.MeshPort)} ({e.Message}); " +
                "choose another with --port / --listen (Mesh:Port, Mesh:Address), or stop the process that holds it.", e);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData)
        {
            throw StartupException.Configuration($"a bootstrap peer's host name cannot be resolved ({e.Message}); fix --bootstrap (Mesh:Bootstrap).");
        }
        catch (IntegrityException e)
        {
            throw new StartupException(ExitCodes.Keys, e.Message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.DataDirectory, $"the mesh data in {settings.MeshDirectory} cannot be opened ({e.Message}); check that this user owns it and the disk is not full.", e);
        }
    }

    /// <summary>The private network key named by Mesh:PrivateNetworkKeyFile, or null when the node joins the open mesh.</summary>
    /// <exception cref="StartupException">The file is missing, unreadable or not a key file (exit code 6).</exception>
    private static PrivateNetworkKey? LoadNetworkKey(NodeSettings settings)
    {
        if (settings.PrivateNetworkKeyFile is not { } path) return null;
        try
        {
            return PrivateNetworkKey.Load(path);
        }
        catch (Exception e) when (e is MeshStorageException or IOException or UnauthorizedAccessException)
        {
            throw new StartupException(ExitCodes.Keys, $"the private network key {path} cannot be used ({e.Message}); every node of the network needs a copy of the same key file (docs/rest-api.md, \"A private network\").", e);
        }
    }

    private static void ConfigureTelemetry(WebApplicationBuilder builder, NodeSettings settings)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("zentalk-node", serviceVersion: RestApi.Version))
            .WithMetrics(m =>
            {
                m.AddMeter(NodeMetrics.MeterName, MeshStorageTelemetry.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime");
                m.AddPrometheusExporter();
                if (settings.OtlpEndpoint is { } endpoint) m.AddOtlpExporter(o => o.Endpoint = endpoint);
            });
        if (settings.OtlpEndpoint is { } traces)
            telemetry.WithTracing(t => t.AddSource(MeshStorageTelemetry.ActivitySourceName).AddOtlpExporter(o => o.Endpoint = traces));
    }

    /// <summary>Linux hands out ports 32768-60999 for outgoing connections: a mesh port there can be taken by one at a restart.</summary>
    private static void WarnOnEphemeralPort(ILogger logger, int port)
    {
        if (port is >= 32768 and <= 60999)
            logger.EphemeralMeshPort(port);
    }

    private static string Endpoint(IPAddress address, int port) => new IPEndPoint(address, port).ToString();

    /// <summary>Waits for SIGTERM, SIGINT (Ctrl+C) or a stop from systemd.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the API (draining requests in flight), then the mesh node (which flushes its stores).</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await _app.StopAsync().ConfigureAwait(false);
        await State.Node.StopAsync().ConfigureAwait(false);
        if (_localMesh is not null) await _localMesh.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        State.Budget.Dispose();
        _meshLogging.Dispose();
    }
}
