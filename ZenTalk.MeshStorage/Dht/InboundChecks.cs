using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// Limits the dial-backs that check callers' claimed listen addresses, so that claiming addresses cannot make a node
/// dial at will: at most <see cref="DhtOptions.MaxConcurrentInboundChecks"/> at once, one at a time per node id, per
/// caller address a burst of <see cref="DhtOptions.InboundChecksPerAddress"/> and then one per
/// <see cref="DhtOptions.InboundCheckInterval"/>, and a claim that failed is not checked again for
/// <see cref="DhtOptions.InboundCheckBackoff"/>. A check refused here is not queued: the caller is checked the next
/// time it calls. Memory is bounded too (the tables are pruned at <see cref="MaxTracked"/> entries).
/// </summary>
internal sealed class InboundChecks(DhtOptions options, TimeProvider time)
{
    /// <summary>Most caller addresses and failed claims remembered.</summary>
    public const int MaxTracked = 4096;

    private readonly Lock _lock = new();
    private readonly HashSet<NodeId> _checking = [];
    private readonly Dictionary<IPAddress, Allowance> _allowances = [];
    private readonly Dictionary<PeerContact, long> _failed = [];

    /// <summary>Checks under way.</summary>
    public int InFlight
    {
        get { lock (_lock) return _checking.Count; }
    }

    /// <summary>Whether a check of <paramref name="claim"/> may start now; if so, the caller must call <see cref="Finish"/>.</summary>
    public bool TryStart(PeerContact claim)
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            if (_checking.Count >= options.MaxConcurrentInboundChecks || _checking.Contains(claim.Id)) return false;
            if (_failed.TryGetValue(claim, out long failedAt))
            {
                if (time.GetElapsedTime(failedAt, now) < options.InboundCheckBackoff) return false;
                _failed.Remove(claim);
            }
            var address = claim.EndPoint.Address;
            if (!(options.AllowLoopbackClusters && IPAddress.IsLoopback(address)))
            {
                if (!_allowances.TryGetValue(address, out var allowance))
                {
                    if (_allowances.Count >= MaxTracked) Prune(_allowances, a => Refill(a, now) >= options.InboundChecksPerAddress);
                    allowance = new Allowance { Tokens = options.InboundChecksPerAddress, Refilled = now };
                    _allowances[address] = allowance;
                }
                if (Refill(allowance, now) < 1) return false;
                allowance.Tokens--;
            }
            _checking.Add(claim.Id);
            return true;
        }
    }

    /// <summary>A check ended; a claim that did not answer with its id is remembered for the backoff.</summary>
    public void Finish(PeerContact claim, bool answered)
    {
        long now = time.GetTimestamp();
        lock (_lock)
        {
            _checking.Remove(claim.Id);
            if (answered) return;
            if (_failed.Count >= MaxTracked) Prune(_failed, failedAt => time.GetElapsedTime(failedAt, now) >= options.InboundCheckBackoff);
            _failed[claim] = now;
        }
    }

    private double Refill(Allowance allowance, long now)
    {
        double earned = time.GetElapsedTime(allowance.Refilled, now) / options.InboundCheckInterval;
        allowance.Tokens = Math.Min(options.InboundChecksPerAddress, allowance.Tokens + earned);
        allowance.Refilled = now;
        return allowance.Tokens;
    }

    /// <summary>Drops the entries that carry no information any more; if that is not enough, forgets everything (the
    /// concurrency limit still holds).</summary>
    private static void Prune<TKey, TValue>(Dictionary<TKey, TValue> table, Func<TValue, bool> stale) where TKey : notnull
    {
        foreach (var (key, value) in table)
            if (stale(value)) table.Remove(key);
        if (table.Count >= MaxTracked) table.Clear();
    }

    private sealed class Allowance
    {
        public double Tokens;
        public long Refilled;
    }
}
