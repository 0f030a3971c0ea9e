using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Distributed;

/// <summary>
/// Owner-signed DELETE_SHARDS requests. The signature (RSASSA-PSS, SHA-256) covers
/// "ZenTalk delete v1" 0x00 || timestamp (i64 BE) || nonce (16 bytes) || the shard hashes in request order, so a
/// request cannot be altered. A holder accepts it only within <see cref="Window"/> of its own clock and only once
/// per nonce (nonces are remembered for twice the window), so a captured request cannot be replayed.
/// </summary>
internal sealed class DeleteAuthorization
{
    public const int NonceSize = 16;

    private static ReadOnlySpan<byte> Context => "ZenTalk delete v1\0"u8;

    private readonly ConcurrentDictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _lastPurge;

    public DeleteAuthorization(TimeSpan window, TimeProvider? time = null)
    {
        Window = window;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How far a request's timestamp may be from the holder's clock.</summary>
    public TimeSpan Window { get; }

    public static DeleteShardsRequest Create(OwnerKey owner, IEnumerable<Sha256Hash> hashes, DateTimeOffset now)
    {
        var request = new DeleteShardsRequest
        {
            OwnerPublicKey = ByteString.CopyFrom(owner.PublicKey.SubjectPublicKeyInfo),
            TimestampUnixMs = now.ToUnixTimeMilliseconds(),
            Nonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(NonceSize)),
        };
        foreach (var h in hashes) request.ShardHashes.Add(ByteString.CopyFrom(h.ToArray()));
        request.Signature = ByteString.CopyFrom(owner.Sign(Payload(request)));
        return request;
    }

    /// <summary>Checks the request and returns the signer's key id (SHA-256 of its public key).</summary>
    /// <exception cref="UnauthorizedOperationException">Bad signature, stale timestamp or replayed nonce.</exception>
    /// <exception cref="ArgumentException">Malformed request.</exception>
    public Sha256Hash Verify(DeleteShardsRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Nonce.Length != NonceSize)
            throw new ArgumentException($"A delete request's nonce is {NonceSize} bytes.", nameof(request));
        foreach (var h in request.ShardHashes)
            if (h.Length != Sha256Hash.Size) throw new ArgumentException("Shard hashes are 32 bytes.", nameof(request));
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
            throw new UnauthorizedOperationException("The delete request's owner key is not a usable RSA key: " + e.Message, e);
        }

        if (!owner.Verify(Payload(request), request.Signature.Span))
            throw new UnauthorizedOperationException("The delete request's signature does not verify against the owner key it names.");
        Purge(now);
        var nonce = Convert.ToBase64String(request.Nonce.Span);
        if (!_seen.TryAdd(nonce, now.ToUnixTimeMilliseconds()))
            throw new UnauthorizedOperationException("The delete request was already used (replayed nonce); sign a fresh request.");
        return Sha256Hash.Compute(request.OwnerPublicKey.Span);
    }

    private void Purge(DateTimeOffset now)
    {
        long nowMs = now.ToUnixTimeMilliseconds();
        long last = Interlocked.Read(ref _lastPurge);
        if (nowMs - last < Window.TotalMilliseconds || Interlocked.CompareExchange(ref _lastPurge, nowMs, last) != last) return;
        long horizon = nowMs - (long)(2 * Window.TotalMilliseconds);
        foreach (var (nonce, seen) in _seen)
            if (seen < horizon) _seen.TryRemove(nonce, out _);
    }

    private static byte[] Payload(DeleteShardsRequest request)
    {
        var payload = new byte[Context.Length + 8 + request.Nonce.Length + (request.ShardHashes.Count * Sha256Hash.Size)];
        var s = payload.AsSpan();
        Context.CopyTo(s);
        s = s[Context.Length..];
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
}
