using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ZenTalk.Testnet.Hosts;

namespace ZenTalk.Testnet.Scenarios;

/// <summary>A file the mesh acknowledged: how to make its bytes again, where it came from, what the store returned.</summary>
internal sealed class BookEntry
{
    public required int Seed { get; init; }
    public required int Size { get; init; }
    public required string Cid { get; init; }
    public required string Key { get; init; }
    public required string Sha256 { get; init; }

    /// <summary>Which client stored it, and in which phase ("warm", "partition", ...).</summary>
    public required string Origin { get; init; }

    /// <summary>Set when a delete of it was acknowledged: it must never be readable again.</summary>
    public string? DeletedBy { get; set; }
}

/// <summary>
/// Every acknowledged file and every acknowledged delete, and the workload's operations through the clients: a store
/// is remembered only once its answer said ok, so "every acknowledged file is readable" means exactly these.
/// </summary>
internal sealed class FileBook
{
    private readonly ConcurrentDictionary<string, BookEntry> _files = new();
    private readonly Random _sizes;
    private int _nextSeed;

    public FileBook(int seed)
    {
        _sizes = new Random(seed);
        _nextSeed = seed * 100_000;
    }

    public IReadOnlyCollection<BookEntry> All => [.. _files.Values];

    public IEnumerable<BookEntry> Live => _files.Values.Where(f => f.DeletedBy is null);

    public IEnumerable<BookEntry> Deleted => _files.Values.Where(f => f.DeletedBy is not null);

    /// <summary>A file size: mostly attachments (1-300 KiB, one segment), some of 300 KiB-1 MiB, one in ten of 1-3 MiB
    /// (several 1 MiB segments).</summary>
    public int NextSize()
    {
        lock (_sizes)
        {
            double p = _sizes.NextDouble();
            return p < 0.7 ? _sizes.Next(1024, 300 * 1024) : p < 0.9 ? _sizes.Next(300 * 1024, 1 << 20) : _sizes.Next(1 << 20, 3 << 20);
        }
    }

    /// <summary>Stores one new file through <paramref name="client"/>; returns it once acknowledged, or the failure.</summary>
    public async Task<(BookEntry? File, JsonObject Answer)> StoreAsync(MeshMember client, int size, string origin, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        int seed = Interlocked.Increment(ref _nextSeed);
        var answer = await Mesh.CallAsync(client, new JsonObject { ["op"] = "store", ["size"] = size, ["seed"] = seed }, timeout, cancellationToken);
        if (answer["ok"]?.GetValue<bool>() != true) return (null, answer);
        var entry = new BookEntry
        {
            Seed = seed,
            Size = size,
            Cid = answer["cid"]!.GetValue<string>(),
            Key = answer["key"]!.GetValue<string>(),
            Sha256 = Payload.Sha256Of(seed, size),
            Origin = origin,
        };
        _files[entry.Cid] = entry;
        return (entry, answer);
    }

    /// <summary>Reads <paramref name="file"/> through <paramref name="client"/>: "ok" (byte for byte), "wrong bytes", or the error.</summary>
    public static async Task<(string Outcome, JsonObject Answer)> ReadAsync(MeshMember client, BookEntry file, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        JsonObject answer;
        try
        {
            answer = await Mesh.CallAsync(client, new JsonObject { ["op"] = "get", ["cid"] = file.Cid, ["key"] = file.Key }, timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return ("timeout", []);
        }
        if (answer["ok"]?.GetValue<bool>() != true) return ($"{answer["error"]}: {answer["message"]}", answer);
        bool same = answer["sha256"]!.GetValue<string>() == file.Sha256 && answer["length"]!.GetValue<long>() == file.Size;
        return (same ? "ok" : "wrong bytes", answer);
    }
}
