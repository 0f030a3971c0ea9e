using System.Collections.Concurrent;
using System.Diagnostics;
using ZenTalk.MeshStorage;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>
/// Readers and writers on one mesh entry point: writers store new random files (each acknowledged file is
/// remembered with its bytes and key), readers retrieve random acknowledged files and compare them byte for byte.
/// Counts successes, failures and mismatches; keeps the latency of every successful retrieve.
/// </summary>
internal sealed class MeshWorkload
{
    private readonly OwnerKey _owner;
    private readonly int _minSize;
    private readonly int _maxSize;
    private readonly TimeSpan _writerPause;
    private readonly Random _seeds;
    private readonly List<StoredCopy> _files = [];
    private readonly ConcurrentBag<double> _retrieveMs = [];
    private long _retrieveOk, _retrieveFailed, _mismatches, _storeOk, _storeFailed;

    public MeshWorkload(OwnerKey owner, int seed, int minSize, int maxSize, TimeSpan writerPause = default)
    {
        _writerPause = writerPause;
        _owner = owner;
        _seeds = new Random(seed);
        _minSize = minSize;
        _maxSize = maxSize;
    }

    /// <summary>An acknowledged file: what was stored, and the CID and key the store returned.</summary>
    public sealed record StoredCopy(Cid Cid, ContentKey Key, byte[] Data);

    public List<string> FirstErrors { get; } = [];
    public long RetrievesOk => Interlocked.Read(ref _retrieveOk);
    public long RetrievesFailed => Interlocked.Read(ref _retrieveFailed);
    public long Mismatches => Interlocked.Read(ref _mismatches);
    public long StoresOk => Interlocked.Read(ref _storeOk);
    public long StoresFailed => Interlocked.Read(ref _storeFailed);
    public IReadOnlyCollection<double> RetrieveLatenciesMs => _retrieveMs;

    public IReadOnlyList<StoredCopy> Files
    {
        get
        {
            lock (_files) return [.. _files];
        }
    }

    private byte[] NextFile()
    {
        lock (_seeds)
        {
            var data = new byte[_seeds.Next(_minSize, _maxSize + 1)];
            _seeds.NextBytes(data);
            return data;
        }
    }

    /// <summary>Stores one new file through <paramref name="store"/>; true when acknowledged.</summary>
    public async Task<bool> StoreOneAsync(IMeshStore store, CancellationToken cancellationToken)
    {
        var data = NextFile();
        try
        {
            var stored = await store.StoreAsync(new MemoryStream(data), _owner, cancellationToken: cancellationToken).ConfigureAwait(false);
            lock (_files) _files.Add(new StoredCopy(stored.Cid, stored.ContentKey, data));
            Interlocked.Increment(ref _storeOk);
            return true;
        }
        catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException)
        {
            Interlocked.Increment(ref _storeFailed);
            Note("store", e);
            return false;
        }
    }

    /// <summary>Retrieves <paramref name="file"/>; true when it came back byte for byte.</summary>
    public static async Task<bool> MatchesAsync(IMeshStore store, StoredCopy file, CancellationToken cancellationToken)
    {
        await using var stream = await store.RetrieveAsync(file.Cid, file.Key, cancellationToken).ConfigureAwait(false);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
        return copy.GetBuffer().AsSpan(0, (int)copy.Length).SequenceEqual(file.Data);
    }

    /// <summary>Runs <paramref name="readers"/> readers and <paramref name="writers"/> writers until <paramref name="stop"/>.</summary>
    public Task RunAsync(IMeshStore store, int readers, int writers, CancellationToken stop) =>
        Task.WhenAll(
            Enumerable.Range(0, readers).Select(r => Task.Run(() => ReadLoopAsync(store, r, stop), CancellationToken.None))
                .Concat(Enumerable.Range(0, writers).Select(_ => Task.Run(() => WriteLoopAsync(store, stop), CancellationToken.None))));

    private async Task WriteLoopAsync(IMeshStore store, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await StoreOneAsync(store, stop).ConfigureAwait(false);
                // A pause keeps the number of files (and so the final checks) bounded in short runs.
                if (_writerPause > TimeSpan.Zero) await Task.Delay(_writerPause, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task ReadLoopAsync(IMeshStore store, int reader, CancellationToken stop)
    {
        var random = new Random(reader * 7919 + 1);
        while (!stop.IsCancellationRequested)
        {
            StoredCopy file;
            lock (_files)
            {
                if (_files.Count == 0) return;
                file = _files[random.Next(_files.Count)];
            }
            long start = Stopwatch.GetTimestamp();
            try
            {
                if (await MatchesAsync(store, file, stop).ConfigureAwait(false))
                {
                    _retrieveMs.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    Interlocked.Increment(ref _retrieveOk);
                }
                else
                {
                    Interlocked.Increment(ref _mismatches);
                    Note("retrieve", new InvalidDataException($"{file.Cid} came back with different bytes"));
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException)
            {
                Interlocked.Increment(ref _retrieveFailed);
                Note("retrieve", e);
            }
        }
    }

    private void Note(string what, Exception e)
    {
        lock (FirstErrors)
            if (FirstErrors.Count < 10) FirstErrors.Add($"{what}: {e.GetType().Name}: {e.Message}");
    }

    /// <summary>Checks every acknowledged file byte for byte; returns the CIDs that did not come back intact.</summary>
    public async Task<List<string>> VerifyAllAsync(IMeshStore store, CancellationToken cancellationToken)
    {
        var lost = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Files, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (f, ct) =>
        {
            try
            {
                if (!await MatchesAsync(store, f, ct).ConfigureAwait(false)) lost.Add($"{f.Cid}: different bytes");
            }
            catch (Exception e) when (e is MeshStorageException or TimeoutException or IOException)
            {
                lost.Add($"{f.Cid}: {e.GetType().Name}: {e.Message}");
            }
        }).ConfigureAwait(false);
        return [.. lost];
    }

    public double RetrieveP50 => SoakReport.Percentile(_retrieveMs, 0.50);
    public double RetrieveP99 => SoakReport.Percentile(_retrieveMs, 0.99);

    public double RetrieveSuccessRate
    {
        get
        {
            long all = RetrievesOk + RetrievesFailed + Mismatches;
            return all == 0 ? double.NaN : (double)RetrievesOk / all;
        }
    }
}
