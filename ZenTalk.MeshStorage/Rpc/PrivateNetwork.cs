using System.Buffers.Binary;
using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>
/// Membership of a private network, proven in the version exchange (docs/protocol.md §2.1): each side's Hello carries a
/// fresh nonce and an HMAC-SHA256, under a key derived from the network's pre-shared key, over both node ids (as TLS
/// proved them) and the Hellos sent so far. A proof names the node that made it in its role, so it is worth nothing to
/// anyone else: a non-member can neither make one nor use one it was shown.
/// </summary>
internal sealed class PrivateNetwork
{
    /// <summary>Bytes of a network key (a random 256-bit secret).</summary>
    public const int KeySize = 32;

    /// <summary>Bytes of the nonce each side puts in its Hello.</summary>
    public const int NonceSize = 32;

    /// <summary>The oldest protocol version that carries the proof: a member refuses peers that speak only older ones.</summary>
    public const uint MinProtocolVersion = 3;

    private const int HelloFieldsSize = 4 * sizeof(uint) + NonceSize;
    private static readonly byte[] ProofKeyLabel = "ZenTalk private network v1 proof key"u8.ToArray();
    private static readonly byte[] IdLabel = "ZenTalk private network v1 id"u8.ToArray();
    private static readonly byte[] DialerLabel = "ZenTalk private network v1 dialer\0"u8.ToArray();
    private static readonly byte[] ListenerLabel = "ZenTalk private network v1 listener\0"u8.ToArray();

    private readonly byte[] _proofKey;

    /// <param name="networkKey">The network's <see cref="KeySize"/>-byte pre-shared key.</param>
    public PrivateNetwork(ReadOnlySpan<byte> networkKey)
    {
        if (networkKey.Length != KeySize) throw new ArgumentException($"A private network key is {KeySize} bytes, not {networkKey.Length}.", nameof(networkKey));
        _proofKey = HMACSHA256.HashData(networkKey, ProofKeyLabel);
        Id = IdOf(networkKey);
    }

    /// <summary>The network's public name for logs and errors: 16 hex digits derived from the key, revealing nothing of it.</summary>
    public string Id { get; }

    /// <inheritdoc cref="Id"/>
    public static string IdOf(ReadOnlySpan<byte> networkKey) => Convert.ToHexStringLower(HMACSHA256.HashData(networkKey, IdLabel).AsSpan(0, 8));

    /// <summary>Adds a dialer's nonce and proof to its Hello (sent before it knows whether the listener is a member: the
    /// proof names the listener's proven id, so it is good for that listener only).</summary>
    public void ProveDialer(Hello dialerHello, NodeId dialer, NodeId listener)
    {
        dialerHello.NetworkNonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(NonceSize));
        dialerHello.NetworkProof = ByteString.CopyFrom(Proof(DialerLabel, dialer, listener, dialerHello, null));
    }

    /// <summary>Adds a listener's nonce and proof to its Hello; the proof covers the dialer's Hello and its fresh nonce,
    /// so it cannot be replayed to another connection.</summary>
    public void ProveListener(Hello listenerHello, Hello dialerHello, NodeId dialer, NodeId listener)
    {
        listenerHello.NetworkNonce = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(NonceSize));
        listenerHello.NetworkProof = ByteString.CopyFrom(Proof(ListenerLabel, dialer, listener, dialerHello, listenerHello));
    }

    /// <summary>Null when the dialer's Hello proves membership; otherwise why it does not.</summary>
    public string? CheckDialer(Hello dialerHello, NodeId dialer, NodeId listener) =>
        Check(dialerHello, () => Proof(DialerLabel, dialer, listener, dialerHello, null));

    /// <summary>Null when the listener's Hello proves membership; otherwise why it does not.</summary>
    public string? CheckListener(Hello listenerHello, Hello dialerHello, NodeId dialer, NodeId listener) =>
        Check(listenerHello, () => Proof(ListenerLabel, dialer, listener, dialerHello, listenerHello));

    private string? Check(Hello hello, Func<byte[]> expected)
    {
        if (hello.NetworkProof.IsEmpty)
            return hello.ProtocolVersion < MinProtocolVersion
                ? $"it speaks protocol {hello.MinProtocolVersion}..{hello.ProtocolVersion}, without the private network handshake"
                : "it sent no network proof (it is not in a private network)";
        if (hello.NetworkNonce.Length != NonceSize || hello.NetworkProof.Length != HMACSHA256.HashSizeInBytes)
            return "its network proof is malformed";
        return CryptographicOperations.FixedTimeEquals(expected(), hello.NetworkProof.Span)
            ? null
            : $"its network proof does not verify (it holds another network key than private network {Id})";
    }

    // label ‖ dialer id ‖ listener id ‖ fields of the dialer's Hello ‖ (listener only) fields of the listener's Hello,
    // where fields = u32be(protocol_version) ‖ u32be(min_protocol_version) ‖ u32be(listen_port) ‖ u32be(max_frame_size) ‖ nonce.
    private byte[] Proof(byte[] label, NodeId dialer, NodeId listener, Hello first, Hello? second)
    {
        Span<byte> message = stackalloc byte[64 + 2 * NodeId.Size + 2 * HelloFieldsSize];
        label.CopyTo(message);
        int n = label.Length;
        dialer.WriteTo(message[n..]);
        n += NodeId.Size;
        listener.WriteTo(message[n..]);
        n += NodeId.Size;
        n += WriteFields(first, message[n..]);
        if (second is not null) n += WriteFields(second, message[n..]);
        return HMACSHA256.HashData(_proofKey, message[..n]);
    }

    private static int WriteFields(Hello hello, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, hello.ProtocolVersion);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], hello.MinProtocolVersion);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], hello.ListenPort);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], hello.MaxFrameSize);
        hello.NetworkNonce.Span.CopyTo(destination[16..]);
        return HelloFieldsSize;
    }
}

/// <summary>
/// A peer was refused in the handshake because it is not a member of this node's private network (no proof, a proof
/// under another key, a protocol version without the proof), or because it is a member of one and this node is not.
/// </summary>
internal sealed class PrivateNetworkException(string message) : ProtocolException(message);
