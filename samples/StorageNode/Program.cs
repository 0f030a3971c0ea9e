// StorageNode: a mesh node with the REST API of docs/rest-api.md on 127.0.0.1. Options: see StorageNodeSettings.Usage
// (dotnet run --project samples/StorageNode -- --help). --short runs a self-test against a local 14-node mesh.
using StorageNode;

StorageNodeSettings settings;
try
{
    if (args.Contains("--help") || args.Contains("-h"))
    {
        Console.WriteLine(StorageNodeSettings.Usage);
        return 0;
    }
    settings = StorageNodeSettings.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message.Split(" (Parameter")[0]);
    Console.Error.WriteLine(StorageNodeSettings.Usage);
    return 2;
}

if (settings.Short)
{
    return await SelfTest.RunAsync(settings);
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
await using var host = await StorageNodeHost.StartAsync(settings, stop.Token);
Console.WriteLine($"ZenTalk storage node {host.Node.Id}");
Console.WriteLine($"  mesh:     {host.Node.Endpoint} (bootstrap others with --bootstrap {host.Node.BootstrapAddress})");
Console.WriteLine($"  REST API: {host.HttpAddress} (try: curl {host.HttpAddress}health)");
Console.WriteLine($"  owner key: {settings.ResolvedOwnerKeyPath} ({host.Owner.PublicKey.Id[..16]}…)");
Console.WriteLine($"  data:     {settings.ResolvedDataDirectory}");
Console.WriteLine("Press Ctrl+C to stop.");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}
return 0;
