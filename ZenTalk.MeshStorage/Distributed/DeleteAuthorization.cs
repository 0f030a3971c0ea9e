using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Shards;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Owner-signed DELETE_SHARDS requests. The signature (the owner key's, <see cref="OwnerKey"/>) covers
/// "ZenTalk delete v2" 0x00 || holder node id (32 bytes) || timestamp (i64 BE) || nonce (16 bytes) || the shard hashes
/// in request order, so a request cannot be altered or re-aimed at another holder. A holder accepts it only when it is
/// the node named, within <see cref="Window"/> of its own clock, and only once per nonce: nonces are remembered for
/// twice the window, and the nonce of a request that deletes something is on disk (<see cref="DeleteNonceLog"/>)
/// before anything is deleted, so a replay after the holder restarts is refused too.
/// </summary>
internal sealed class DeleteAuthorization : IDisposable
{
    public const int NonceSize = 16;

    /// <summary>The most nonces remembered at once (each from a request with a valid signature, by any key).</summary>
    public const int MaxRemembered = 100_000;

    private static ReadOnlySpan<byte> Context => "ZenTalk delete v2\0"u8;

    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal); // nonce -> request timestamp
    private readonly NodeId _self;
    private readonly TimeProvider _time;
    private readonly DeleteNonceLog? _log;
    private long _lastPurge;

    /// <param name="self">This holder's node id: requests naming another are refused.</param>
    /// <param name="window">How far a request's timestamp may be from this node's clock.</param>
    /// <param name="time">The clock.</param>
    /// <param name="directory">Where the nonce log lives; null keeps nonces in memory only (tests and tools).</param>
    /// <param name="logger">Where a repaired log is reported.</param>
    public DeleteAuthorization(NodeId self, TimeSpan window, TimeProvider? time = null, string? directory = null, ILogger? logger = null)
    {
        _self = self;
        Window = window;
        _time = time ?? TimeProvider.System;
        if (directory is null) return;
        _log = DeleteNonceLog.Open(directory, logger ?? NullLogger.Instance, out var persisted);
        long horizon = Horizon(_time.GetUtcNow());
        foreach (var (nonce, stamp) in persisted)
            if (stamp >= horizon) _seen[Convert.ToBase64String(nonce)] = stamp;
        if (NeedsRewrite(persisted.Count)) _log.Rewrite(Live());
    }

    /// <summary>How far a request's timestamp may be from the holder's clock.</summary>
    public TimeSpan Window { get; }

    /// <summary>A request for <paramref name="holder"/> to delete <paramref name="hashes"/>, signed by <paramref name="owner"/>.</summary>
    public static DeleteShardsRequest Create(OwnerKey owner, NodeId holder, IEnumerable<Sha256Hash> hashes, DateTimeOffset now)
    {
        var request = new DeleteShardsRequest
        {
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            TimestampUnixMs = now.ToUnixTimeMilliseconds(),
            Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(NonceSize)),
            NodeId = ByteString.CopyFrom(holder.ToByteArray()),
        };
        foreach (var h in hashes) request.ShardHashes.Add(ByteString.CopyFrom(h.ToArray()));
        request.Signature = ByteString.CopyFrom(owner.Sign(Payload(request)));
        return request;
    }

    /// <summary>Checks the request, takes its nonce, and returns the signer's key id (SHA-256 of its public key).</summary>
    /// <exception cref="UnauthorizedOperationException">Another holder named, bad signature, stale timestamp or replayed nonce.</exception>
    /// <exception cref="QuotaExceededException">This node has taken <see cref="MaxRemembered"/> nonces within twice the window.</exception>
    /// <exception cref="ArgumentException">Malformed request.</exception>
    public Sha256Hash Verify(DeleteShardsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Nonce.Length != NonceSize)
            throw new ArgumentException($"A delete request's nonce is {NonceSize} bytes.", nameof(request));
        if (request.NodeId.Length != NodeId.Size)
            throw new ArgumentException($"A delete request names its holder's {NodeId.Size}-byte node id.", nameof(request));
        foreach (var h in request.ShardHashes)
            if (h.Length != Sha256Hash.Size) throw new ArgumentException("Shard hashes are 32 bytes.", nameof(request));
        if (new NodeId(request.NodeId.Span) != _self)
            throw new UnauthorizedOperationException("The delete request was signed for another node; each holder gets a request of its own.");
        var now = _time.GetUtcNow();
        var stamp = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(request.TimestampUnixMs, -62135596800000L, 253402300799999L));
        if ((now - stamp).Duration() > Window)
            throw new UnauthorizedOperationException($"The delete request is timestamped {stamp:O}, outside the {Window.TotalSeconds:0} s window around this node's clock {now:O}; sign a fresh request.");
        OwnerPublicKey owner;
        try
        {
            owner = OwnerPublicKey.FromSubjectPublicKeyInfo(request.OwnerPublicKey.Span);
        }
        catch (IntegrityException e)
        {
            throw new UnauthorizedOperationException("The delete request's owner key is not a usable owner key: " + e.Message, e);
        }

        if (!owner.Verify(Payload(request), request.Signature.Span))
            throw new UnauthorizedOperationException("The delete request's signature does not verify against the owner key it names.");
        Purge(now);
        if (_seen.Count >= MaxRemembered)
            throw new QuotaExceededException($"This node took {MaxRemembered} delete requests within {2 * Window.TotalMinutes:0} minutes; retry later.") { IsTransient = true };
        if (!_seen.TryAdd(Convert.ToBase64String(request.Nonce.Span), request.TimestampUnixMs))
            throw new UnauthorizedOperationException("The delete request was already used (replayed nonce); sign a fresh request.");
        return Sha256Hash.Compute(owner.SubjectPublicKeyInfo);
    }

    /// <summary>
    /// Makes a verified request's nonce durable; call it before the request deletes anything. A request that deletes
    /// nothing needs no entry: replayed, it would delete nothing either, or only holds its signer asked to drop.
    /// </summary>
    public Task PersistAsync(DeleteShardsRequest request, CancellationToken cancellationToken)
    {
        if (_log is not { } log) return Task.CompletedTask;
        var nonce = request.Nonce.ToByteArray();
        long stamp = request.TimestampUnixMs;
        return BlockingIo.RunAsync(() =>
        {
            log.Append(nonce, stamp);
            if (NeedsRewrite(log.Entries)) log.Rewrite(Live());
        }, cancellationToken);
    }

    /// <summary>A log of <paramref name="entries"/> is rewritten when most of them are nonces no longer remembered.</summary>
    private bool NeedsRewrite(int entries) => entries > 1024 && entries > 2 * _seen.Count;

    private List<(byte[] Nonce, long TimestampUnixMs)> Live() =>
        _seen.Select(p => (Convert.FromBase64String(p.Key), p.Value)).ToList();

    private long Horizon(DateTimeOffset now) => now.ToUnixTimeMilliseconds() - (long)(2 * Window.TotalMilliseconds);

    private void Purge(DateTimeOffset now)
    {
        long nowMs = now.ToUnixTimeMilliseconds();
        long last = Interlocked.Read(ref _lastPurge);
        if (nowMs - last < Window.TotalMilliseconds || Interlocked.CompareExchange(ref _lastPurge, nowMs, last) != last) return;
        long horizon = Horizon(now);
        foreach (var (nonce, stamp) in _seen)
            if (stamp < horizon) _seen.TryRemove(nonce, out _);
    }

    private static byte[] Payload(DeleteShardsRequest request)
    {
        var payload = new byte[Context.Length + NodeId.Size + 8 + request.Nonce.Length + (request.ShardHashes.Count * Sha256Hash.Size)];
        var s = payload.AsSpan();
        Context.CopyTo(s);
        s = s[Context.Length..];
        request.NodeId.Span.CopyTo(s);
        s = s[request.NodeId.Length..];
        BinaryPrimitives.WriteInt64BigEndian(s, request.TimestampUnixMs);
        s = s[8..];
        request.Nonce.Span.CopyTo(s);
        s = s[request.Nonce.Length..];
        foreach (var h in request.ShardHashes)
        {
            h.Span.CopyTo(s);
            s = s[h.Length..];
        }

        return payload;
    }

    public void Dispose() => _log?.Dispose();
}
